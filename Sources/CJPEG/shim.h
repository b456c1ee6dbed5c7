#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
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
    *out = NULL;
    *out_size = 0;
    if (rgb == NULL || width <= 0 || height <= 0 || width > 65500 || height > 65500) {
        return -1;
    }
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = synthset_jpeg_error_exit;
    jerr.pub.output_message = synthset_jpeg_output_message;
    jerr.pub.emit_message = synthset_jpeg_emit_message;
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
