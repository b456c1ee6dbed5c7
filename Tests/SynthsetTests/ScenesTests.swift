import Foundation
import SceneFormats
import Scenes
import Testing

/// Tests for the built-in procedural renderer (`Scenes`): determinism, JPEG validity,
/// exactness of the ground-truth boxes, and the truth file format.
@Suite struct ScenesTests {
    /// A small but busy scene: every shape, every background, all camera effects.
    static let spec = SceneSpec(
        width: 160, height: 120,
        objects: [
            .init(name: "can", shape: .cylinder, colors: [0xC0_1A_1A, 0x1A_5A_C0], size: 0.15...0.4, count: 1...5),
            .init(name: "box", shape: .box, colors: [0xB0_85_50], size: 0.2...0.4, count: 0...3),
            .init(name: "pallet", shape: .pallet, colors: [0xA8_88_60], size: 0.08...0.15, count: 0...2),
            .init(name: "ball", shape: .sphere, colors: [], size: 0.1...0.3, count: 1...2),
        ],
        camera: .init(blur: 0...2, noise: 0...8, jpegQuality: 70...90))

    static let seeds: [UInt64] = Array(0..<40) + [UInt64.max, 0xDEAD_BEEF]

    /// FNV-1a 64: a tiny stable hash for golden values (no Crypto dependency needed).
    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    @Test func sameSeedGivesIdenticalBytes() {
        let a = SceneRenderer(spec: Self.spec)
        let b = SceneRenderer(spec: Self.spec)  // a fresh renderer must not matter either
        for seed in Self.seeds.prefix(10) {
            let first = a.render(seed: seed, imageName: "x.jpg")
            let second = b.render(seed: seed, imageName: "x.jpg")
            #expect(first.jpeg == second.jpeg)
            #expect(first.truth == second.truth)
            #expect(first.truth.encoded() == second.truth.encoded())
        }
    }

    @Test func differentSeedsDiffer() {
        let renderer = SceneRenderer(spec: Self.spec)
        let images = Set((0..<20).map { renderer.render(seed: UInt64($0), imageName: "x.jpg").jpeg })
        #expect(images.count == 20)
    }

    @Test func concurrentRendersMatchSerialOnes() async {
        let renderer = SceneRenderer(spec: Self.spec)
        let serial = (0..<8).map { renderer.render(seed: UInt64($0), imageName: "x.jpg").jpeg }
        let parallel = await withTaskGroup(of: (Int, [UInt8]).self) { group in
            for i in 0..<8 {
                group.addTask { (i, renderer.render(seed: UInt64(i), imageName: "x.jpg").jpeg) }
            }
            var result = [[UInt8]](repeating: [], count: 8)
            for await (i, jpeg) in group { result[i] = jpeg }
            return result
        }
        #expect(serial == parallel)
    }

    @Test func jpegHeaderDecodesWithTheRightSize() {
        for (w, h) in [(160, 120), (640, 480), (1, 1), (17, 33)] {
            var spec = Self.spec
            spec.width = w
            spec.height = h
            let scene = SceneRenderer(spec: spec).render(seed: 7, imageName: "x.jpg")
            let size = SceneRenderer.decodeJPEGHeader(scene.jpeg)
            #expect(size?.width == w && size?.height == h, "\(w)x\(h)")
            #expect(scene.truth.width == w && scene.truth.height == h)
        }
    }

    @Test func jpegHeaderRejectsInvalidFiles() {
        let jpeg = SceneRenderer(spec: Self.spec).render(seed: 1, imageName: "x.jpg").jpeg
        #expect(SceneRenderer.decodeJPEGHeader([]) == nil)
        #expect(SceneRenderer.decodeJPEGHeader(Array("not a jpeg".utf8)) == nil)
        #expect(SceneRenderer.decodeJPEGHeader(Array(jpeg.prefix(jpeg.count / 2))) == nil)
        #expect(SceneRenderer.decodeJPEGHeader(Array(jpeg.prefix(200)) + [0xFF, 0xD9]) == nil)
        #expect(SceneRenderer.decodeJPEGHeader([0xFF, 0xD8, 0xFF, 0xD9]) == nil)
    }

    @Test func truthBoxesLieInsideTheImageAndHavePositiveSize() {
        let renderer = SceneRenderer(spec: Self.spec)
        for seed in Self.seeds {
            let truth = renderer.render(seed: seed, imageName: "img_\(seed).jpg").truth
            #expect(truth.image == "img_\(seed).jpg")
            #expect(truth.format == GroundTruth.formatIdentifier)
            #expect(truth.source == "procedural/scenes")
            for object in truth.objects {
                let box = object.bbox
                #expect(box.xmin >= 0 && box.ymin >= 0)
                #expect(box.xmax <= 160 && box.ymax <= 120)
                #expect(box.width > 0 && box.height > 0)
                #expect(box.xmin == box.xmin.rounded() && box.ymax == box.ymax.rounded())
                #expect(object.confidence == 1)
            }
        }
    }

    /// Checks every box against the pixels, independently of the renderer's own box
    /// computation: the id buffer's tight box must equal the truth box, and every pixel
    /// outside all objects must equal the background-only render of the same seed (the
    /// background uses its own PRNG stream, so removing the objects leaves it unchanged).
    @Test func truthBoxesAreTheTightBoxesOfVisiblePixels() {
        var sharp = Self.spec
        sharp.camera = .init(blur: 0...0, noise: 0...0, jpegQuality: 90...90)
        var empty = sharp
        empty.objects = []
        let renderer = SceneRenderer(spec: sharp)
        let backgroundRenderer = SceneRenderer(spec: empty)
        for seed in Self.seeds {
            let frame = renderer.renderPixels(seed: seed, applyCameraEffects: false)
            let background = backgroundRenderer.renderPixels(seed: seed).rgb
            let (w, h) = (frame.width, frame.height)
            var boxes = [(Int, Int, Int, Int)](repeating: (w, h, 0, 0), count: frame.truth.objects.count)
            var changed = [Int](repeating: 0, count: frame.truth.objects.count)
            var strayPixels = 0
            for y in 0..<h {
                for x in 0..<w {
                    let p = y * w + x
                    let id = Int(frame.objectIDs[p])
                    let differs = frame.rgb[p * 3..<p * 3 + 3] != background[p * 3..<p * 3 + 3]
                    if id == 0 {
                        if differs { strayPixels += 1 }
                        continue
                    }
                    guard id <= boxes.count else { continue }  // an occluded, unlabeled object
                    boxes[id - 1] = (min(boxes[id - 1].0, x), min(boxes[id - 1].1, y),
                                     max(boxes[id - 1].2, x + 1), max(boxes[id - 1].3, y + 1))
                    if differs { changed[id - 1] += 1 }
                }
            }
            #expect(strayPixels == 0, "seed \(seed): background pixels changed outside objects")
            for (i, object) in frame.truth.objects.enumerated() {
                let b = boxes[i]
                #expect(object.bbox == GroundTruth.BoundingBox(
                    xmin: Double(b.0), ymin: Double(b.1), xmax: Double(b.2), ymax: Double(b.3)),
                    "seed \(seed) object \(i)")
                // The object really is drawn there (not just recorded in the id buffer).
                #expect(changed[i] > 0, "seed \(seed) object \(i) left the background unchanged")
            }
        }
    }

    @Test func cameraEffectsDoNotChangeTheTruth() {
        let renderer = SceneRenderer(spec: Self.spec)
        for seed in Self.seeds.prefix(10) {
            let sharp = renderer.renderPixels(seed: seed, imageName: "a.jpg", applyCameraEffects: false)
            let blurred = renderer.renderPixels(seed: seed, imageName: "a.jpg", applyCameraEffects: true)
            #expect(sharp.truth == blurred.truth)
            #expect(sharp.truth == renderer.render(seed: seed, imageName: "a.jpg").truth)
            if blurred.blurRadius > 0 || blurred.noiseAmplitude > 0 {
                #expect(sharp.rgb != blurred.rgb)
            }
        }
    }

    @Test func countsRespectTheSpec() {
        let renderer = SceneRenderer(spec: Self.spec)
        var seen: [String: Int] = [:]
        for seed in Self.seeds {
            let truth = renderer.render(seed: seed, imageName: "x.jpg").truth
            for objectClass in Self.spec.objects {
                let n = truth.objects.filter { $0.className == objectClass.name }.count
                #expect(n <= objectClass.count.upperBound, "seed \(seed) \(objectClass.name)")
                seen[objectClass.name, default: 0] += n
            }
            #expect(truth.objects.allSatisfy { o in Self.spec.objects.contains { $0.name == o.className } })
        }
        // Every class shows up somewhere across the seeds.
        #expect(seen.count == Self.spec.objects.count && seen.values.allSatisfy { $0 > 0 })

        var none = Self.spec
        none.objects = none.objects.map { var c = $0; c.count = 0...0; return c }
        #expect(SceneRenderer(spec: none).render(seed: 3, imageName: "x.jpg").truth.objects.isEmpty)
    }

    /// One unoccluded instance of each shape: exactly one box, and it is the object's
    /// full extent clipped to the image.
    @Test(arguments: SceneSpec.Shape.allCases)
    func singleObjectOfEachShapeIsLabeled(shape: SceneSpec.Shape) {
        let spec = SceneSpec(width: 96, height: 72,
                             objects: [.init(name: shape.rawValue, shape: shape, colors: [0x20_40_E0],
                                             size: 0.2...0.5, count: 1...1)],
                             background: .init(styles: [.gradient], colors: [0xF0_F0_F0]),
                             camera: .init(blur: 0...0, noise: 0...0, jpegQuality: 90...90))
        let renderer = SceneRenderer(spec: spec)
        for seed in UInt64(0)..<20 {
            let frame = renderer.renderPixels(seed: seed, applyCameraEffects: false)
            #expect(frame.truth.objects.count == 1)
            guard let box = frame.truth.objects.first?.bbox else { continue }
            #expect(frame.truth.objects[0].className == shape.rawValue)
            let covered = frame.objectIDs.filter { $0 == 1 }.count
            let area = Int(box.width * box.height)
            // Boxes and pallets fill much of their box; ellipses and cylinders a bit less.
            #expect(covered * 2 >= area, "seed \(seed): \(covered) of \(area)")
        }
    }

    @Test func invalidSpecsAreClampedNotFatal() {
        let spec = SceneSpec(width: 0, height: -5,
                             objects: [.init(name: "x", shape: .box, colors: [],
                                             size: -1.0...Double.infinity, count: -3...2)],
                             background: .init(styles: [], colors: []),
                             camera: .init(blur: 500...900, noise: -4...1000, jpegQuality: -1...0))
        let scene = SceneRenderer(spec: spec).render(seed: 1, imageName: "x.jpg")
        #expect(SceneRenderer.decodeJPEGHeader(scene.jpeg)! == (1, 1))
    }

    @Test func truthEncodesDeterministicallyAndRoundTrips() throws {
        let truth = GroundTruth(
            image: "img_000001.jpg", width: 640, height: 480,
            objects: [.init(className: "can", bbox: .init(xmin: 12, ymin: 40, xmax: 88, ymax: 130))])
        let json = String(decoding: truth.encoded(), as: UTF8.self)
        #expect(json == #"{"format":"synthset-boxes/1","height":480,"image":"img_000001.jpg","#
            + #""objects":[{"bbox":{"xmax":88,"xmin":12,"ymax":130,"ymin":40},"class":"can","#
            + #""confidence":1}],"source":"procedural/scenes","width":640}"#)
        #expect(try GroundTruth.decode(from: truth.encoded()) == truth)

        let rendered = SceneRenderer(spec: Self.spec).render(seed: 5, imageName: "a/b.jpg").truth
        #expect(try GroundTruth.decode(from: rendered.encoded()) == rendered)
        #expect(String(decoding: rendered.encoded(), as: UTF8.self).contains(#""image":"a/b.jpg""#))
    }

    @Test func decodeRejectsOtherFormats() {
        let json = #"{"format":"synthset-boxes/2","image":"a","width":1,"height":1,"source":"s","objects":[]}"#
        #expect(throws: GroundTruth.FormatError.unsupportedFormat("synthset-boxes/2")) {
            try GroundTruth.decode(from: Data(json.utf8))
        }
        #expect(throws: (any Error).self) { try GroundTruth.decode(from: Data("{}".utf8)) }
    }

    /// Golden hashes of one small image, so any change to the bytes the renderer
    /// produces is noticed (across machines, compilers and refactors). Re-record them
    /// only when the renderer's output is changed deliberately. The pixel hash must hold
    /// everywhere; the JPEG hash assumes libjpeg-turbo (2.x/3.x, `JDCT_ISLOW`): another
    /// libjpeg implementation may legitimately encode the same pixels differently.
    @Test func goldenHashesOfASmallImage() {
        let spec = SceneSpec(width: 64, height: 48, objects: Self.spec.objects,
                             camera: .init(blur: 1...1, noise: 4...4, jpegQuality: 85...85))
        let renderer = SceneRenderer(spec: spec)
        let pixels = renderer.renderPixels(seed: 1)
        let jpeg = renderer.render(seed: 1, imageName: "golden.jpg").jpeg
        #expect(Self.fnv1a(pixels.rgb) == 3_096_240_961_604_933_708, "pixels")
        #expect(Self.fnv1a(jpeg) == 5_591_855_537_626_657_856, "jpeg")
    }
}
