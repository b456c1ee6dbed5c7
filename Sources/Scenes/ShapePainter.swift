import SceneFormats

/// One object instance placed in the image, with every random choice already made, so
/// drawing is a pure function of this value.
struct PlacedObject {
    /// Index into the spec's object classes.
    var classIndex: Int
    /// 1-based instance id written to the id buffer (generation order).
    var id: UInt16
    var shape: SceneSpec.Shape
    /// Top-left corner of the object's bounding rectangle; may lie outside the image.
    var x: Int
    var y: Int
    var width: Int
    var height: Int
    var color: RGBColor
    /// Box: depth of the top/side faces in pixels. Pallet: number of deck boards.
    var detail: Int
}

/// Rasterizes the four shapes with simple fixed-point shading.
///
/// Every shape visits each pixel of its (clipped) bounding rectangle once, decides in
/// integer arithmetic whether and with which shade the pixel is covered, and writes
/// color and id together, so the id buffer always matches what is visible. Coordinates
/// are tested at pixel centers in doubled units (`2x + 1`) to stay in integers.
enum ShapePainter {
    static func draw(_ object: PlacedObject, on canvas: Canvas) {
        switch object.shape {
        case .cylinder: drawCylinder(object, on: canvas)
        case .box: drawBox(object, on: canvas)
        case .pallet: drawPallet(object, on: canvas)
        case .sphere: drawSphere(object, on: canvas)
        }
    }

    /// Clipped pixel ranges of the object's bounding rectangle.
    @inline(__always)
    private static func clip(_ o: PlacedObject, _ canvas: Canvas) -> (Range<Int>, Range<Int>)? {
        let x0 = max(0, o.x), x1 = min(canvas.width, o.x + o.width)
        let y0 = max(0, o.y), y1 = min(canvas.height, o.y + o.height)
        guard x0 < x1, y0 < y1 else { return nil }
        return (x0..<x1, y0..<y1)
    }

    /// Lambert-like brightness factor (x256) across a cylinder's width, lit from the
    /// front-left, with a narrow specular band. Uses only `*`, `+`, `-`, `/`, `sqrt`,
    /// which IEEE-754 defines exactly, so the table is identical on every machine.
    private static func cylinderShade(column i: Int, of w: Int) -> Int {
        let u = Double(2 * i + 1 - w) / Double(w)
        let nz = max(0, 1 - u * u).squareRoot()
        let diffuse = max(0, -0.45 * u + 0.89 * nz)
        var specular = diffuse * diffuse
        specular *= specular
        specular *= specular  // diffuse^8 without pow()
        return Int(256 * (0.3 + 0.75 * diffuse + 0.35 * specular))
    }

    /// Upright cylinder: body shaded per column, elliptical bottom, and a lighter
    /// elliptical top with a slightly darker lid inside the rim.
    private static func drawCylinder(_ o: PlacedObject, on canvas: Canvas) {
        guard let (xs, ys) = clip(o, canvas) else { return }
        let w = o.width, h = o.height
        let ey = min(h, max(2, w / 4))            // full height of the end ellipses
        let a2 = w, b2 = ey                        // doubled semi-axes
        let aa = a2 * a2, bb = b2 * b2, ab = aa * bb
        let lidLimit = ab * 6 / 10
        let cx2 = 2 * o.x + w
        let topCy2 = 2 * o.y + ey
        let bottomCy2 = 2 * (o.y + h) - ey
        var body = [RGBColor](repeating: o.color, count: xs.count)
        var rim = body
        var lid = body
        for x in xs {
            let f = cylinderShade(column: x - o.x, of: w)
            body[x - xs.lowerBound] = o.color.scaled(f)
            rim[x - xs.lowerBound] = o.color.scaled(300 + (f - 256) / 4)
            lid[x - xs.lowerBound] = o.color.scaled(250 + (f - 256) / 4)
        }
        for y in ys {
            let py = 2 * y + 1
            let dyTop = py - topCy2, dyBottom = py - bottomCy2
            let topTerm = dyTop * dyTop * aa
            let bottomTerm = dyBottom * dyBottom * aa
            for x in xs {
                let px = 2 * x + 1 - cx2
                let xTerm = px * px * bb
                let i = x - xs.lowerBound
                if xTerm + topTerm <= ab {
                    canvas.set(x, y, xTerm + topTerm <= lidLimit ? lid[i] : rim[i], id: o.id)
                } else if py >= topCy2 && (py <= bottomCy2 || xTerm + bottomTerm <= ab) {
                    canvas.set(x, y, body[i], id: o.id)
                }
            }
        }
    }

    /// Box seen from slightly above and to the left: a front face with a vertical
    /// gradient, a lighter top face and a darker right side face, both 45-degree
    /// parallelograms `detail` pixels deep.
    private static func drawBox(_ o: PlacedObject, on canvas: Canvas) {
        guard let (xs, ys) = clip(o, canvas) else { return }
        let d = o.detail
        let frontW = o.width - d
        let frontTop = o.y + d, bottom = o.y + o.height
        let topColor = o.color.scaled(330)
        let sideColor = o.color.scaled(160)
        let tapeColor = o.color.scaled(380)
        let tapeX0 = o.x + frontW * 9 / 20, tapeX1 = o.x + frontW * 11 / 20
        let frontSpan = max(1, o.height - d)
        for y in ys {
            let front = o.color.scaled(270 - ((y - frontTop) * 50) / frontSpan)
            let s = frontTop - y                    // > 0 on the top face rows
            for x in xs {
                let rx = x - o.x
                if y >= frontTop && rx < frontW {
                    canvas.set(x, y, front, id: o.id)
                } else if s > 0 && rx >= s && rx < frontW + s {
                    // Tape stripe runs across the top face along the box's depth.
                    let onTape = x - s >= tapeX0 && x - s < tapeX1
                    canvas.set(x, y, onTape ? tapeColor : topColor, id: o.id)
                } else if rx >= frontW {
                    let t = rx - frontW + 1         // 1...d across the side face
                    if y >= frontTop - t && y < bottom - t {
                        canvas.set(x, y, sideColor, id: o.id)
                    }
                }
            }
        }
    }

    /// Pallet seen from the front: a top deck of boards separated by dark gaps, three
    /// blocks with deep-shadow openings between them, and a bottom deck.
    private static func drawPallet(_ o: PlacedObject, on canvas: Canvas) {
        guard let (xs, ys) = clip(o, canvas) else { return }
        let w = o.width, h = o.height
        let deckEnd = max(1, h * 3 / 10)
        let bottomStart = h - max(1, h * 2 / 10)
        let block = max(1, w * 3 / 20)
        let midBlock = (w - block) / 2
        let pitch = max(2, w / max(1, o.detail))
        let gap = max(1, pitch / 8)
        let deck = o.color.scaled(285), boardGap = o.color.scaled(110)
        let blockColor = o.color.scaled(235), opening = o.color.scaled(55)
        let bottomDeck = o.color.scaled(210)
        for y in ys {
            let ry = y - o.y
            for x in xs {
                let rx = x - o.x
                let color: RGBColor
                if ry < deckEnd {
                    color = rx % pitch < gap ? boardGap : deck
                } else if ry >= bottomStart {
                    color = bottomDeck
                } else if rx < block || rx >= w - block || (rx >= midBlock && rx < midBlock + block) {
                    color = blockColor
                } else {
                    color = opening
                }
                canvas.set(x, y, color, id: o.id)
            }
        }
    }

    /// Sphere: brightness falls off with squared distance from a highlight up and to
    /// the left of the center (no sqrt needed).
    private static func drawSphere(_ o: PlacedObject, on canvas: Canvas) {
        guard let (xs, ys) = clip(o, canvas) else { return }
        let d = o.width                              // doubled radius
        let rr = d * d
        let cx2 = 2 * o.x + o.width, cy2 = 2 * o.y + o.height
        let hx2 = cx2 - d / 3, hy2 = cy2 - d / 3      // highlight center, doubled units
        for y in ys {
            let dy = 2 * y + 1 - cy2
            let hy = 2 * y + 1 - hy2
            for x in xs {
                let dx = 2 * x + 1 - cx2
                guard dx * dx + dy * dy <= rr else { continue }
                let hx = 2 * x + 1 - hx2
                // q in 0...~455 (x256 of distance^2 / radius^2, up to (4/3)^2).
                let q = ((hx * hx + hy * hy) * 256) / rr
                let factor = max(60, 350 - (q * 3) / 5)
                canvas.set(x, y, o.color.scaled(factor), id: o.id)
            }
        }
    }
}
