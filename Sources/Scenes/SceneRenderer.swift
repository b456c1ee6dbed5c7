import SceneFormats

/// The built-in CPU procedural generator (`procedural/scenes`): draws a random scene
/// described by a ``SceneSpec`` and labels it with exact, occlusion-aware boxes.
///
/// A spec plus a seed determines the pixels byte for byte on every machine: all
/// randomness comes from the renderer's own PRNG, drawing is integer arithmetic, and
/// the few floating-point steps use only IEEE-754-exact operations (`+ - * /`, `sqrt`,
/// int/double conversion), never libm transcendentals. JPEG bytes are then identical
/// wherever the same libjpeg-turbo version encodes them (`JDCT_ISLOW`, fixed tables).
///
/// A renderer is an immutable value; render from as many threads as you like.
public struct SceneRenderer: Sendable {
    /// The spec as given.
    public let spec: SceneSpec

    // The spec clamped to values the drawing code can handle, so rendering never traps
    // and libjpeg never sees invalid parameters.
    private let width: Int
    private let height: Int
    private let classes: [SceneSpec.ObjectClass]
    private let blur: ClosedRange<Int>
    private let noise: ClosedRange<Int>
    private let quality: ClosedRange<Int>

    /// Most instances per class and per image; the id buffer holds 16-bit ids.
    static let maxInstancesPerClass = 1_000
    static let maxInstances = 4_096

    /// Creates a renderer. Out-of-range values are clamped rather than rejected (spec
    /// validation belongs to the recipe layer): dimensions to 1...65500, sizes to
    /// 0...4 image heights, counts to 0...1000, blur to 0...100, noise to 0...255,
    /// quality to 1...100, and empty style lists mean all styles.
    public init(spec: SceneSpec) {
        self.spec = spec
        width = min(65_500, max(1, spec.width))
        height = min(65_500, max(1, spec.height))
        classes = spec.objects.map { object in
            var object = object
            let lower = object.size.lowerBound.isFinite ? min(4, max(0, object.size.lowerBound)) : 0.1
            let upper = object.size.upperBound.isFinite ? min(4, max(lower, object.size.upperBound)) : lower
            object.size = lower...upper
            let countLower = min(Self.maxInstancesPerClass, max(0, object.count.lowerBound))
            let countUpper = min(Self.maxInstancesPerClass, max(countLower, object.count.upperBound))
            object.count = countLower...countUpper
            return object
        }
        blur = Self.clamp(spec.camera.blur, 0, 100)
        noise = Self.clamp(spec.camera.noise, 0, 255)
        quality = Self.clamp(spec.camera.jpegQuality, 1, 100)
    }

    private static func clamp(_ range: ClosedRange<Int>, _ low: Int, _ high: Int) -> ClosedRange<Int> {
        let lower = min(high, max(low, range.lowerBound))
        return lower...min(high, max(lower, range.upperBound))
    }

    /// Renders one image and encodes it as JPEG.
    /// - Parameters:
    ///   - seed: selects the scene; equal seeds give byte-identical output.
    ///   - imageName: the file name recorded in the ground truth.
    public func render(seed: UInt64, imageName: String) -> RenderedScene {
        let frame = renderFrame(seed: seed, applyCameraEffects: true)
        let jpeg = Self.encodeJPEG(rgb: frame.rgb, width: width, height: height,
                                   quality: frame.quality) ?? []
        return RenderedScene(jpeg: jpeg, truth: truth(of: frame, imageName: imageName))
    }

    /// Renders one image without encoding it, exposing the object-id buffer from which
    /// the boxes were computed.
    /// - Parameters:
    ///   - applyCameraEffects: `false` skips blur and noise (the sampled values are still
    ///     reported), so `rgb` shows exactly the pixels the boxes describe.
    public func renderPixels(seed: UInt64, imageName: String = "",
                             applyCameraEffects: Bool = true) -> RenderedPixels {
        let frame = renderFrame(seed: seed, applyCameraEffects: applyCameraEffects)
        // Renumber instance ids into truth indices so callers can check boxes directly.
        var map = [UInt16](repeating: RenderedPixels.unlabeledObjectID,
                           count: frame.objects.count + 1)
        map[0] = 0
        for (index, id) in frame.labeled.enumerated() { map[Int(id)] = UInt16(index + 1) }
        let ids = frame.ids.map { map[Int($0)] }
        return RenderedPixels(width: width, height: height, rgb: frame.rgb, objectIDs: ids,
                              truth: truth(of: frame, imageName: imageName),
                              jpegQuality: frame.quality, blurRadius: frame.blur,
                              noiseAmplitude: frame.noise)
    }

    // MARK: - Frame

    /// Everything one render produces before encoding.
    private struct Frame {
        var rgb: [UInt8]
        var ids: [UInt16]
        /// Indexed by `id - 1`.
        var objects: [PlacedObject]
        /// Ids of the objects that made it into the truth, in generation order.
        var labeled: [UInt16]
        /// Tight visible boxes, indexed by id: (xmin, ymin, xmax, ymax), max exclusive.
        var boxes: [(Int, Int, Int, Int)]
        var quality: Int
        var blur: Int
        var noise: Int
    }

    private func truth(of frame: Frame, imageName: String) -> GroundTruth {
        let objects = frame.labeled.map { id -> GroundTruth.Object in
            let object = frame.objects[Int(id) - 1]
            let (x0, y0, x1, y1) = frame.boxes[Int(id)]
            return GroundTruth.Object(
                className: classes[object.classIndex].name, confidence: 1,
                bbox: .init(xmin: Double(x0), ymin: Double(y0), xmax: Double(x1), ymax: Double(y1)))
        }
        return GroundTruth(image: imageName, width: width, height: height, objects: objects)
    }

    private func renderFrame(seed: UInt64, applyCameraEffects: Bool) -> Frame {
        var cameraRNG = SceneRandom(seed: seed, stream: .camera)
        let blurRadius = cameraRNG.int(in: blur)
        let noiseAmplitude = cameraRNG.int(in: noise)
        let jpegQuality = cameraRNG.int(in: quality)
        let noiseSeed = cameraRNG.next()

        var objectRNG = SceneRandom(seed: seed, stream: .objects)
        let objects = placeObjects(&objectRNG)
        // Painter's order: objects whose base is lower in the frame are nearer the
        // camera and drawn later; the id breaks ties so the order is total.
        let drawOrder = objects.sorted {
            ($0.y + $0.height, $0.id) < ($1.y + $1.height, $1.id)
        }

        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        var ids = [UInt16](repeating: 0, count: width * height)
        var drawn = [Int](repeating: 0, count: objects.count + 1)
        var visible = [Int](repeating: 0, count: objects.count + 1)
        var boxes = [(Int, Int, Int, Int)](repeating: (Int.max, Int.max, Int.min, Int.min),
                                           count: objects.count + 1)
        let (w, h) = (width, height)
        rgb.withUnsafeMutableBufferPointer { pixelBuffer in
            ids.withUnsafeMutableBufferPointer { idBuffer in
                let canvas = Canvas(pixels: pixelBuffer.baseAddress!, ids: idBuffer.baseAddress!,
                                    width: w, height: h)
                var backgroundRNG = SceneRandom(seed: seed, stream: .background)
                BackgroundPainter.paint(spec.background, on: canvas, &backgroundRNG)
                for object in drawOrder {
                    ShapePainter.draw(object, on: canvas)
                    // Pixels this object covered when drawn, before later occluders.
                    drawn[Int(object.id)] = canvas.count(
                        id: object.id, object.x, object.y,
                        object.x + object.width, object.y + object.height)
                }
                Self.measure(canvas, visible: &visible, boxes: &boxes)
            }
        }

        // Keep an object unless more than 70% of its drawn pixels ended up hidden.
        let labeled = objects.compactMap { object -> UInt16? in
            let id = Int(object.id)
            return visible[id] > 0 && visible[id] * 10 >= drawn[id] * 3 ? object.id : nil
        }

        if applyCameraEffects {
            rgb.withUnsafeMutableBufferPointer { buffer in
                CameraEffects.boxBlur(buffer.baseAddress!, width: w, height: h, radius: blurRadius)
                CameraEffects.addNoise(buffer.baseAddress!, count: buffer.count,
                                       amplitude: noiseAmplitude, seed: noiseSeed)
            }
        }
        return Frame(rgb: rgb, ids: ids, objects: objects, labeled: labeled, boxes: boxes,
                     quality: jpegQuality, blur: blurRadius, noise: noiseAmplitude)
    }

    /// One pass over the id buffer: visible pixel count and tight box per id. Runs of
    /// equal ids are handled once per run, since objects are contiguous along rows.
    private static func measure(_ canvas: Canvas, visible: inout [Int],
                                boxes: inout [(Int, Int, Int, Int)]) {
        for y in 0..<canvas.height {
            let row = canvas.ids + y * canvas.width
            var x = 0
            let raw = UnsafeRawPointer(row)
            while x < canvas.width {
                let id = row[x]
                var end = x + 1
                if id == 0 {
                    // Most of a frame is background: skip it four ids per load.
                    while end + 4 <= canvas.width
                        && raw.loadUnaligned(fromByteOffset: end * 2, as: UInt64.self) == 0 {
                        end += 4
                    }
                }
                while end < canvas.width && row[end] == id { end += 1 }
                if id != 0 {
                    let i = Int(id)
                    visible[i] += end - x
                    var box = boxes[i]
                    box.0 = min(box.0, x)
                    box.1 = min(box.1, y)
                    box.2 = max(box.2, end)
                    box.3 = max(box.3, y + 1)
                    boxes[i] = box
                }
                x = end
            }
        }
    }

    /// Samples every instance: count per class, size, proportions, color and position.
    /// Ids are assigned in generation order (class order, then instance order).
    private func placeObjects(_ rng: inout SceneRandom) -> [PlacedObject] {
        var placed: [PlacedObject] = []
        for (classIndex, objectClass) in classes.enumerated() {
            let count = rng.int(in: objectClass.count)
            for _ in 0..<count where placed.count < Self.maxInstances {
                let fraction = rng.double(in: objectClass.size)
                let h = max(1, Int((fraction * Double(height)).rounded()))
                var w = h
                var detail = 0
                switch objectClass.shape {
                case .cylinder:
                    w = max(2, Int((Double(h) * rng.double(in: 0.45...0.7)).rounded()))
                case .box:
                    detail = max(1, Int((Double(h) * rng.double(in: 0.15...0.3)).rounded()))
                    let frontH = max(1, h - detail)
                    w = max(1, Int((Double(frontH) * rng.double(in: 0.7...1.5)).rounded())) + detail
                case .pallet:
                    w = max(3, Int((Double(h) * rng.double(in: 2.5...4.0)).rounded()))
                    detail = rng.int(in: 5...8)
                case .sphere:
                    w = h
                }
                let color = RGBColor.pick(from: objectClass.colors, &rng)
                // One axis stays fully inside (where it fits); the other may overflow by
                // at most half, so at least half of the bounding rectangle is in frame.
                let overflowX = rng.chance(1, in: 2)
                let x = overflowX
                    ? rng.int(-w / 2, width - (w + 1) / 2 + 1)
                    : rng.int(0, width - w + 1)
                let y = overflowX
                    ? rng.int(0, height - h + 1)
                    : rng.int(-h / 2, height - (h + 1) / 2 + 1)
                placed.append(PlacedObject(classIndex: classIndex, id: UInt16(placed.count + 1),
                                           shape: objectClass.shape, x: x, y: y, width: w,
                                           height: h, color: color, detail: detail))
            }
        }
        return placed
    }
}
