import SceneFormats

/// Draws the unlabeled backdrop for one image in one of the ``SceneSpec/Background/Style``s.
///
/// Every style is built row by row (a row is computed once and replicated where the
/// pattern allows) so the background costs little more than a memory fill.
enum BackgroundPainter {
    static func paint(_ background: SceneSpec.Background, on canvas: Canvas,
                      _ rng: inout SceneRandom) {
        let styles = background.styles.isEmpty
            ? SceneSpec.Background.Style.allCases : background.styles
        let style = styles[rng.int(0, styles.count)]
        let first = RGBColor.pick(from: background.colors, &rng)
        let second = RGBColor.pick(from: background.colors, &rng)
        switch style {
        case .gradient:
            gradient(on: canvas, from: first, to: second, rows: 0, canvas.height)
        case .floor:
            floor(on: canvas, wall: first, ground: second, &rng)
        case .checker:
            checker(on: canvas, first, second, &rng)
        case .clutter:
            clutter(on: canvas, base: first, accent: second, palette: background.colors, &rng)
        }
    }

    /// Vertical gradient over rows `y0..<y1`, one computed color per row.
    private static func gradient(on canvas: Canvas, from top: RGBColor, to bottom: RGBColor,
                                 rows y0: Int, _ y1: Int) {
        let span = max(1, y1 - y0 - 1)
        for y in y0..<y1 {
            let color = top.mixed(with: bottom, ((y - y0) * 256) / span)
            canvas.fillRect(0, y, canvas.width, y + 1, color)
        }
    }

    /// A wall above a random horizon and a floor below it, each with a gentle gradient
    /// (darker wall top, lighter floor front) and faint floor seams.
    private static func floor(on canvas: Canvas, wall: RGBColor, ground: RGBColor,
                              _ rng: inout SceneRandom) {
        let horizon = rng.int(in: (canvas.height * 3 / 10)...max(canvas.height * 3 / 10,
                                                                  canvas.height * 6 / 10))
        gradient(on: canvas, from: wall.scaled(200), to: wall, rows: 0, horizon)
        gradient(on: canvas, from: ground.scaled(190), to: ground.scaled(280),
                 rows: horizon, canvas.height)
        // Seams get farther apart toward the viewer, a cheap perspective cue.
        let seam = ground.scaled(150)
        var y = horizon + 2
        var gap = max(2, canvas.height / 60)
        while y < canvas.height {
            canvas.fillRect(0, y, canvas.width, y + 1, seam)
            y += gap
            gap += max(1, gap / 3)
        }
    }

    /// A checkerboard with a random cell size; only two distinct rows are computed,
    /// all other rows are copies.
    private static func checker(on canvas: Canvas, _ a: RGBColor, _ b: RGBColor,
                                _ rng: inout SceneRandom) {
        let cell = rng.int(in: 8...64)
        let xOffset = rng.int(0, cell)
        let yOffset = rng.int(0, cell)
        var patternRow = [-1, -1]  // first row already drawn for each parity
        for y in 0..<canvas.height {
            let parity = ((y + yOffset) / cell) & 1
            if patternRow[parity] >= 0 {
                canvas.copyRow(patternRow[parity], to: y, y + 1)
                continue
            }
            var x = 0
            while x < canvas.width {
                let column = (x + xOffset) / cell
                let end = min(canvas.width, (column + 1) * cell - xOffset)
                canvas.fillRect(x, y, end, y + 1, (column + parity) & 1 == 0 ? a : b)
                x = end
            }
            patternRow[parity] = y
        }
    }

    /// A gradient base scattered with random unlabeled rectangles (distractors).
    private static func clutter(on canvas: Canvas, base: RGBColor, accent: RGBColor,
                                palette: [UInt32], _ rng: inout SceneRandom) {
        gradient(on: canvas, from: base, to: accent, rows: 0, canvas.height)
        let count = rng.int(in: 8...30)
        for _ in 0..<count {
            let w = max(1, canvas.width * rng.int(in: 3...25) / 100)
            let h = max(1, canvas.height * rng.int(in: 3...25) / 100)
            let x = rng.int(in: -w / 2...canvas.width - w / 2)
            let y = rng.int(in: -h / 2...canvas.height - h / 2)
            let color = rng.chance(1, in: 2)
                ? RGBColor.pick(from: palette, &rng) : base.jittered(&rng, tint: 30)
            canvas.fillRect(x, y, x + w, y + h, color)
        }
    }
}
