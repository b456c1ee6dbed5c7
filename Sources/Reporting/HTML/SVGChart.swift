import Foundation

/// Small charts drawn as inline SVG: no script, no font files, values on hover (`<title>`).
enum SVGChart {
    struct Series {
        var name: String
        var color: String
        var values: [Double]
    }

    static func format(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int(value)) }
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }

    /// Coordinates with one decimal, enough for a screen.
    static func c(_ value: Double) -> String { String(format: "%.1f", value) }

    /// Bars per category for one or more series side by side, with a y axis from 0.
    static func bars(title: String, categories: [String], series: [Series], width: Double = 320, height: Double = 150,
                     value: (Double) -> String = format) -> String {
        let left = 36.0, right = 6.0, top = 18.0, bottom = 30.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let maximum = niceCeiling(series.flatMap(\.values).max() ?? 0)
        let slot = plotWidth / Double(max(categories.count, 1))
        let barWidth = max(1, (slot * 0.8) / Double(max(series.count, 1)))
        var svg = open(title: title, width: width, height: height)
        svg += axes(left: left, top: top, plotWidth: plotWidth, plotHeight: plotHeight, maximum: maximum, value: value)
        for (s, one) in series.enumerated() {
            for (index, amount) in one.values.enumerated() where index < categories.count {
                let barHeight = amount / maximum * plotHeight
                let x = left + Double(index) * slot + slot * 0.1 + Double(s) * barWidth
                let label = "\(one.name.isEmpty ? "" : one.name + ", ")\(categories[index]): \(value(amount))"
                svg += "<rect class=\"bar\" x=\"\(c(x))\" y=\"\(c(top + plotHeight - barHeight))\" width=\"\(c(barWidth))\" height=\"\(c(max(barHeight, amount > 0 ? 0.8 : 0)))\" fill=\"\(one.color)\"><title>\(HTML.escape(label))</title></rect>"
            }
        }
        let every = max(1, Int((Double(categories.count) / (plotWidth / 34)).rounded(.up)))
        for (index, category) in categories.enumerated() where index % every == 0 || index == categories.count - 1 {
            let x = left + (Double(index) + 0.5) * slot
            svg += "<text class=\"tick\" x=\"\(c(x))\" y=\"\(c(top + plotHeight + 12))\" text-anchor=\"middle\">\(HTML.escape(category))</text>"
        }
        svg += legend(series, x: left, y: height - 4)
        return svg + "</svg>"
    }

    /// Lines over a numeric x axis, with an optional vertical marker (the current value).
    static func lines(title: String, x: [Double], series: [Series], marker: Double?, markerLabel: String,
                      xLabel: String, width: Double = 640, height: Double = 260) -> String {
        let left = 44.0, right = 12.0, top = 20.0, bottom = 46.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let maximum = niceCeiling(series.flatMap(\.values).max() ?? 0)
        let low = min(x.min() ?? 0, marker ?? 1), high = max(x.max() ?? 1, marker ?? 0)
        let span = max(high - low, 1e-9)
        func px(_ value: Double) -> Double { left + (value - low) / span * plotWidth }
        func py(_ value: Double) -> Double { top + plotHeight - value / maximum * plotHeight }
        var svg = open(title: title, width: width, height: height)
        svg += axes(left: left, top: top, plotWidth: plotWidth, plotHeight: plotHeight, maximum: maximum, value: format)
        for tick in x where (tick * 10).rounded() == tick * 10 {
            svg += "<text class=\"tick\" x=\"\(c(px(tick)))\" y=\"\(c(top + plotHeight + 12))\" text-anchor=\"middle\">\(String(format: "%.1f", tick))</text>"
        }
        svg += "<text class=\"axis-label\" x=\"\(c(left + plotWidth / 2))\" y=\"\(c(top + plotHeight + 26))\" text-anchor=\"middle\">\(HTML.escape(xLabel))</text>"
        if let marker {
            svg += "<line class=\"marker\" x1=\"\(c(px(marker)))\" y1=\"\(c(top))\" x2=\"\(c(px(marker)))\" y2=\"\(c(top + plotHeight))\"/>"
            svg += "<text class=\"marker-label\" x=\"\(c(px(marker) + 4))\" y=\"\(c(top + 10))\">\(HTML.escape(markerLabel))</text>"
        }
        for one in series {
            let points = zip(x, one.values).map { "\(c(px($0))),\(c(py($1)))" }.joined(separator: " ")
            svg += "<polyline class=\"series\" points=\"\(points)\" stroke=\"\(one.color)\"/>"
            for (value, count) in zip(x, one.values) {
                svg += "<circle cx=\"\(c(px(value)))\" cy=\"\(c(py(count)))\" r=\"2.5\" fill=\"\(one.color)\"><title>\(HTML.escape(one.name)) at \(String(format: "%.2f", value)): \(format(count))</title></circle>"
            }
        }
        svg += legend(series, x: left, y: height - 4)
        return svg + "</svg>"
    }

    static func open(title: String, width: Double, height: Double) -> String {
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(c(width)) \(c(height))\" width=\"\(c(width))\" height=\"\(c(height))\" role=\"img\" aria-label=\"\(HTML.escape(title))\"><title>\(HTML.escape(title))</title>"
    }

    /// The axis top: the value rounded up to 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a
    /// power of ten, so ticks read as round numbers.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        let scale = pow(10, (log10(value)).rounded(.down))
        let step = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].first { $0 * scale >= value * 0.999_999 } ?? 10
        return step * scale
    }

    static func axes(left: Double, top: Double, plotWidth: Double, plotHeight: Double, maximum: Double, value: (Double) -> String) -> String {
        var svg = "<line class=\"axis\" x1=\"\(c(left))\" y1=\"\(c(top + plotHeight))\" x2=\"\(c(left + plotWidth))\" y2=\"\(c(top + plotHeight))\"/>"
        svg += "<line class=\"axis\" x1=\"\(c(left))\" y1=\"\(c(top))\" x2=\"\(c(left))\" y2=\"\(c(top + plotHeight))\"/>"
        for fraction in [0.5, 1.0] {
            let y = top + plotHeight - fraction * plotHeight
            svg += "<line class=\"grid\" x1=\"\(c(left))\" y1=\"\(c(y))\" x2=\"\(c(left + plotWidth))\" y2=\"\(c(y))\"/>"
            svg += "<text class=\"tick\" x=\"\(c(left - 4))\" y=\"\(c(y + 3))\" text-anchor=\"end\">\(HTML.escape(value(maximum * fraction)))</text>"
        }
        return svg + "<text class=\"tick\" x=\"\(c(left - 4))\" y=\"\(c(top + plotHeight + 3))\" text-anchor=\"end\">0</text>"
    }

    static func legend(_ series: [Series], x: Double, y: Double) -> String {
        guard series.count > 1 else { return "" }
        var svg = ""
        var position = x
        for one in series {
            svg += "<rect x=\"\(c(position))\" y=\"\(c(y - 8))\" width=\"8\" height=\"8\" fill=\"\(one.color)\"/>"
            svg += "<text class=\"legend\" x=\"\(c(position + 11))\" y=\"\(c(y))\">\(HTML.escape(one.name))</text>"
            position += 18 + Double(one.name.count) * 6
        }
        return svg
    }
}
