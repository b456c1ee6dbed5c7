// Throughput benchmark for the procedural scene renderer.
//
// Usage: scenes-bench [images] [repeats]   (defaults 400 and 5)
//        scenes-bench --dump DIR [count]    write sample JPEGs + truth JSON to eyeball
// Renders a can-factory-like 640x480 spec on 1 thread and on 2 threads, repeats each
// run, and prints median images/s plus the median per-image split between drawing
// (background, objects, blur, noise) and JPEG encoding.
import Dispatch
import Foundation
import SceneFormats
import Scenes

var arguments = CommandLine.arguments
var dumpDirectory: String?
if arguments.count > 2, arguments[1] == "--dump" {
    dumpDirectory = arguments[2]
    arguments.removeSubrange(1...2)
}
let imageCount = arguments.count > 1 ? max(1, Int(arguments[1]) ?? 400) : 400
let repeats = arguments.count > 2 ? max(1, Int(arguments[2]) ?? 5) : 5

let spec = SceneSpec(
    width: 640, height: 480,
    objects: [
        .init(name: "can", shape: .cylinder, colors: [0xC0_1A_1A, 0x1A_5A_C0, 0xD8_D8_D8, 0x20_A0_40],
              size: 0.12...0.3, count: 2...6),
        .init(name: "box", shape: .box, colors: [0xB0_85_50, 0x9A_70_40], size: 0.15...0.35, count: 1...3),
        .init(name: "pallet", shape: .pallet, colors: [0xA8_88_60, 0x70_58_40], size: 0.06...0.12, count: 0...2),
        .init(name: "ball", shape: .sphere, colors: [0xE0_C0_20, 0x30_30_30], size: 0.08...0.2, count: 0...2),
    ],
    background: .init(),
    camera: .init(blur: 0...1, noise: 0...6, jpegQuality: 80...92))
let renderer = SceneRenderer(spec: spec)

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2]
        : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// Renders `imageCount` images split across `threads` workers; returns images/s.
func throughput(threads: Int, round: Int) -> Double {
    let start = now()
    let base = UInt64(round) << 32
    DispatchQueue.concurrentPerform(iterations: threads) { worker in
        var bytes = 0
        var index = worker
        while index < imageCount {
            let scene = renderer.render(seed: base + UInt64(index), imageName: "img.jpg")
            bytes &+= scene.jpeg.count
            index += threads
        }
        precondition(bytes > 0)
    }
    return Double(imageCount) / (Double(now() - start) / 1e9)
}

/// Median per-image milliseconds for drawing and for encoding, single thread.
func split(round: Int) -> (render: Double, encode: Double) {
    var renderTimes: [Double] = []
    var encodeTimes: [Double] = []
    let base = UInt64(round) << 32
    for index in 0..<min(imageCount, 200) {
        let t0 = now()
        let pixels = renderer.renderPixels(seed: base + UInt64(index))
        let t1 = now()
        let jpeg = SceneRenderer.encodeJPEG(rgb: pixels.rgb, width: pixels.width,
                                            height: pixels.height, quality: pixels.jpegQuality)
        let t2 = now()
        precondition(jpeg != nil)
        renderTimes.append(Double(t1 - t0) / 1e6)
        encodeTimes.append(Double(t2 - t1) / 1e6)
    }
    return (median(renderTimes), median(encodeTimes))
}

if let dumpDirectory {
    for index in 0..<(arguments.count > 1 ? Int(arguments[1]) ?? 8 : 8) {
        let name = "scene_\(index).jpg"
        let scene = renderer.render(seed: UInt64(index), imageName: name)
        let base = URL(fileURLWithPath: dumpDirectory)
        try Data(scene.jpeg).write(to: base.appendingPathComponent(name))
        try scene.truth.encoded().write(to: base.appendingPathComponent("scene_\(index).json"))
    }
    exit(0)
}

_ = throughput(threads: 1, round: 99)  // warm-up: page in code, allocator, libjpeg tables
var single: [Double] = []
var double: [Double] = []
var renderMs: [Double] = []
var encodeMs: [Double] = []
for round in 0..<repeats {
    single.append(throughput(threads: 1, round: round))
    double.append(throughput(threads: 2, round: round))
    let (r, e) = split(round: round)
    renderMs.append(r)
    encodeMs.append(e)
}
let cores = ProcessInfo.processInfo.activeProcessorCount
print("scenes-bench: \(imageCount) images x \(repeats) repeats, 640x480, \(cores) cores")
print(String(format: "1 thread : %.1f images/s (median)", median(single)))
print(String(format: "2 threads: %.1f images/s (median)", median(double)))
print(String(format: "per image: render %.2f ms, encode %.2f ms (median, 1 thread)",
             median(renderMs), median(encodeMs)))
