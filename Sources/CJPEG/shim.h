#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <string.h>
#include <jpeglib.h>

/*
 * A libjpeg error manager that can never terminate the process.
 *
 * libjpeg's default error_exit() prints and calls exit(). Swift cannot longjmp, so the
 * whole compression runs here in C under setjmp(): a libjpeg error unwinds to
 * synthset_jpeg_encode_rgb(), which frees everything and returns -1. Messages (warnings
 * and errors) are swallowed because libraries must never print.
 */
struct synthset_jpeg_error_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
};

static inline void synthset_jpeg_error_exit(j_common_ptr cinfo) {
    struct synthset_jpeg_error_mgr *err = (struct synthset_jpeg_error_mgr *)cinfo->err;
    longjmp(err->jump, 1);
}

static inline void synthset_jpeg_output_message(j_common_ptr cinfo) {
    (void)cinfo;
}

static inline void synthset_jpeg_emit_message(j_common_ptr cinfo, int msg_level) {
    /* Count warnings like the default does, but never print them. */
    if (msg_level < 0) {
        cinfo->err->num_warnings++;
    }
}

/* The error manager above, set up for one compression or decompression. */
static inline struct jpeg_error_mgr *synthset_jpeg_errors(struct synthset_jpeg_error_mgr *jerr) {
    struct jpeg_error_mgr *err = jpeg_std_error(&jerr->pub);
    err->error_exit = synthset_jpeg_error_exit;
    err->output_message = synthset_jpeg_output_message;
    err->emit_message = synthset_jpeg_emit_message;
    return err;
}

/*
 * Encodes interleaved 8-bit RGB (rows top to bottom, no padding) as a baseline JPEG:
 * JDCT_ISLOW (bit-exact across libjpeg-turbo builds and SIMD paths), 4:2:0 chroma,
 * standard Huffman tables (no optimize_coding), no progressive mode.
 * On success returns 0 and a malloc()ed buffer in *out that the caller must free().
 * On failure returns -1 and *out == NULL.
 */
static inline int synthset_jpeg_encode_rgb(const unsigned char *rgb, int width, int height,
                                           int quality, unsigned char **out,
                                           unsigned long *out_size) {
    struct jpeg_compress_struct cinfo;
    struct synthset_jpeg_error_mgr jerr;
    /* Zeroed, so an error inside jpeg_create_compress() destroys a valid (empty) struct. */
    memset(&cinfo, 0, sizeof(cinfo));
    *out = NULL;
    *out_size = 0;
    if (rgb == NULL || width <= 0 || height <= 0 || width > 65500 || height > 65500) {
        return -1;
    }
    cinfo.err = synthset_jpeg_errors(&jerr);
    if (setjmp(jerr.jump)) {
        jpeg_destroy_compress(&cinfo);
        if (*out != NULL) {
            free(*out);
        }
        *out = NULL;
        *out_size = 0;
        return -1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, out, out_size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.optimize_coding = FALSE;
    cinfo.comp_info[0].h_samp_factor = 2;
    cinfo.comp_info[0].v_samp_factor = 2;
    cinfo.comp_info[1].h_samp_factor = 1;
    cinfo.comp_info[1].v_samp_factor = 1;
    cinfo.comp_info[2].h_samp_factor = 1;
    cinfo.comp_info[2].v_samp_factor = 1;
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * (size_t)width * 3);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    return 0;
}

/*
 * Decodes a JPEG held in memory to interleaved 8-bit RGB, scaled by 1/scale_denom with
 * libjpeg's DCT scaling (scale_denom 1, 2, 4 or 8: the decoder skips the work for the
 * pixels it drops, which is what makes thumbnails cheap). JDCT_IFAST and no fancy
 * upsampling: thumbnails want speed, not the last bit of quality.
 * On success returns 0, a malloc()ed buffer in *out (caller frees) and the scaled size
 * in *width / *height; the full size is in *full_width / *full_height.
 * On failure (corrupt or truncated data, grayscale CMYK oddities libjpeg rejects)
 * returns -1 and *out == NULL.
 */
static inline int synthset_jpeg_decode_scaled(const unsigned char *data, unsigned long size,
                                              int scale_denom, unsigned char **out,
                                              int *width, int *height,
                                              int *full_width, int *full_height) {
    struct jpeg_decompress_struct cinfo;
    struct synthset_jpeg_error_mgr jerr;
    memset(&cinfo, 0, sizeof(cinfo));
    *out = NULL;
    *width = 0;
    *height = 0;
    *full_width = 0;
    *full_height = 0;
    if (data == NULL || size == 0 || (scale_denom != 1 && scale_denom != 2 && scale_denom != 4 && scale_denom != 8)) {
        return -1;
    }
    cinfo.err = synthset_jpeg_errors(&jerr);
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        if (*out != NULL) {
            free(*out);
        }
        *out = NULL;
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, size);
    jpeg_read_header(&cinfo, TRUE);
    *full_width = (int)cinfo.image_width;
    *full_height = (int)cinfo.image_height;
    cinfo.out_color_space = JCS_RGB;
    cinfo.scale_num = 1;
    cinfo.scale_denom = (unsigned int)scale_denom;
    cinfo.dct_method = JDCT_IFAST;
    cinfo.do_fancy_upsampling = FALSE;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != 3) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    size_t stride = (size_t)cinfo.output_width * 3;
    *out = (unsigned char *)malloc(stride * (size_t)cinfo.output_height);
    if (*out == NULL) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = (JSAMPROW)(*out + (size_t)cinfo.output_scanline * stride);
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    *width = (int)cinfo.output_width;
    *height = (int)cinfo.output_height;
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}
