import Datasets
import Foundation
import Testing

@testable import Execution
import WorkspaceStore

/// `ffmpeg/extract-frames` with the real ffmpeg (these tests fail when it is missing),
/// and the can-factory recipe (images → clips → frames) end to end on the Cosmos stand-in.
@Suite(.serialized) struct FramesTests {
    static func decodes(_ url: URL) -> Bool {
        guard let data = try? Data(contentsOf: url) else { return false }
        return MediaProbe.imageSize([UInt8](data)) != nil
    }

    static func files(_ workspace: URL, _ step: String, ext: String) -> [URL] {
        let folder = workspace.appendingPathComponent("outputs/\(step)")
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasSuffix(".\(ext)") }.sorted().map { folder.appendingPathComponent($0) }
    }

    /// A 93-frame 16 fps test clip (like a Cosmos 16 fps video2world output).
    static func makeClip(in directory: URL) throws -> URL {
        let ffmpeg = try requireFFmpeg()
        let clip = directory.appendingPathComponent("clip.mp4")
        let status = try shell(ffmpeg, ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=16",
                                        "-frames:v", "93", "-pix_fmt", "yuv420p", clip.path])
        try #require(status == 0, "ffmpeg could not make the test clip")
        return clip
    }

    static func workflow(_ directory: URL, clip: URL, frames: String) throws -> URL {
        let file = directory.appendingPathComponent("frames.yaml")
        try Data("""
        version: 1
        name: frames
        steps:
          clip:
            uses: command
            program: cp
            args: ["\(clip.path)", "{output}"]
            output: mp4
            seeds: [0]
        \(frames)
        """.utf8).write(to: file)
        return file
    }

    @Test func extractsEveryNthFrameAndFrameRateSamples() async throws {
        let directory = try TestSupport.temporaryDirectory("synthset-frames")
        defer { try? FileManager.default.removeItem(at: directory) }
        let clip = try Self.makeClip(in: directory)
        let file = try Self.workflow(directory, clip: clip, frames: """
          every8:
            uses: ffmpeg/extract-frames
            from: clip
            every: 8
            max_frames: 12
          fps4:
            uses: ffmpeg/extract-frames
            from: clip
            fps: 4
            max_frames: 20
        """)
        let workspace = directory.appendingPathComponent("ws")
        let result = try await Synthset.run(["run", file.path, "--workspace", workspace.path])
        #expect(result.status == 0, "\(result.stderr)")
        let every = Self.files(workspace, "every8", ext: "jpg")
        let sampled = Self.files(workspace, "fps4", ext: "jpg")
        #expect(every.count == 12)  // frames 0, 8, ..., 88 of 93
        #expect(sampled.count == 20)
        #expect((every + sampled).allSatisfy(Self.decodes))
        // Each item holds the frame it was planned for: compare with ffmpeg's own pick of frame 88.
        let plan = try await Synthset.run(["plan", file.path, "--format", "json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
        let items = try #require(json["items"] as? [[String: Any]])
        let last = try #require(items.first { $0["step"] as? String == "every8" && $0["frame_index"] as? Int == 88 })
        let reference = directory.appendingPathComponent("ref.jpg")
        #expect(try shell(try requireFFmpeg(), ["-nostdin", "-v", "error", "-i", clip.path, "-vf", "select=eq(n\\,88)", "-vsync", "vfr",
                                                "-q:v", "2", "-frames:v", "1", reference.path]) == 0)
        let planned = try Data(contentsOf: workspace.appendingPathComponent(try #require(last["path"] as? String)))
        #expect(planned == (try Data(contentsOf: reference)))
    }

    @Test func framesBeyondTheClipFail() async throws {
        let directory = try TestSupport.temporaryDirectory("synthset-frames")
        defer { try? FileManager.default.removeItem(at: directory) }
        let clip = try Self.makeClip(in: directory)
        let file = try Self.workflow(directory, clip: clip, frames: """
          frames:
            uses: ffmpeg/extract-frames
            from: clip
            every: 8
            max_frames: 20
        """)
        let workspace = directory.appendingPathComponent("ws")
        let result = try await Synthset.run(["run", file.path, "--workspace", workspace.path, "--retries", "0"])
        #expect(result.status == 1)
        #expect(Self.files(workspace, "frames", ext: "jpg").count == 12)
        #expect((result.stdout + result.stderr).contains("fewer frames than planned"), "\(result.stderr)")
    }

    @Test func canFactoryRunsEndToEndOnTheStandIn() async throws {
        _ = try requireFFmpeg()  // the stand-in writes real clips with ffmpeg
        let directory = try TestSupport.temporaryDirectory("synthset-can-factory")
        defer { try? FileManager.default.removeItem(at: directory) }
        let root = try CosmosStandIn.make(in: directory)
        let file = directory.appendingPathComponent("can-factory.yaml")
        try Data("""
        version: 1
        name: can-factory
        description: Drink cans on a factory line (stand-in tools).
        hardware: { gpu: h100-sxm, count: 1 }
        tools:
          cosmos-predict2: { root: \(root.path), python: python3 }
        prompts:
          can_line:
            template: >-
              A conveyor belt in a factory. {color} drink cans are lined up on the belt.
              The conveyor belt is colored {belt}.
            vars:
              color: [Orange, Blue]
              belt: [green, white]
            sample: { count: 2, seed: 7 }
            negative: "sharp focus, ultra-high detail, DSLR, 4K"
        steps:
          images:
            uses: cosmos-predict2/text2image
            model: 2B
            prompts: [can_line]
            seeds: 0..1
            options: { disable_guardrail: true }
          clips:
            uses: cosmos-predict2/video2world
            from: images
            model: 14B
            resolution: 720
            fps: 16
            prompt: "A conveyor belt steadily transports soda cans."
            seeds: [0]
          frames:
            uses: ffmpeg/extract-frames
            from: clips
            every: 8
        """.utf8).write(to: file)
        let workspace = directory.appendingPathComponent("ws")
        let result = try await Synthset.run(["run", file.path, "--workspace", workspace.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.files(workspace, "images", ext: "jpg").count == 4)
        let clips = Self.files(workspace, "clips", ext: "mp4")
        #expect(clips.count == 4)
        #expect(Self.files(workspace, "clips", ext: "txt").count == 4)  // sidecars with the refined prompt
        let frames = Self.files(workspace, "frames", ext: "jpg")
        #expect(frames.count == 4 * 12)
        #expect(frames.allSatisfy(Self.decodes))
        let calls = try CosmosStandIn.invocations(root)
        #expect(calls.filter { $0["script"] as? String == "text2image" }.count == 2)  // one per seed
        let v2w = calls.filter { $0["script"] as? String == "video2world" }
        #expect(v2w.count == 1)  // one seed, one negative: one batch of 4
        let batch = try #require(v2w.first?["batch"] as? [[String: String]])
        #expect(batch.count == 4)
        #expect(batch.allSatisfy { Set($0.keys) == ["input_video", "prompt", "output_video"] && $0["input_video"]!.hasPrefix(workspace.path) })
        // A second run has nothing left to do.
        let again = try await Synthset.run(["run", file.path, "--workspace", workspace.path])
        #expect(again.status == 0)
        #expect(try CosmosStandIn.invocations(root).count == calls.count)
    }
}

/// A clip is accepted only with the frame count its tool documents (when ffprobe exists).
@Test func videoWithTheWrongFrameCountIsRejected() async throws {
    let ffmpeg = try requireFFmpeg()
    let directory = try TestSupport.temporaryDirectory("synthset-frames-count")
    defer { try? FileManager.default.removeItem(at: directory) }
    let clip = directory.appendingPathComponent("clip.mp4")
    let status = try shell(ffmpeg, ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x96:rate=16",
                                    "-frames:v", "50", "-pix_fmt", "yuv420p", clip.path])
    #expect(status == 0)
    let committer = OutputCommitter(workspace: Workspace(root: directory))
    let output = ProducedOutput(itemID: "x", file: clip)
    try await committer.verify(output, kind: .video, expectedFrames: 50)
    await #expect(throws: OutputRejected.self) { try await committer.verify(output, kind: .video, expectedFrames: 93) }
    do {
        try await committer.verify(output, kind: .video, expectedFrames: 93)
    } catch {
        #expect("\(error)".contains("has 50 frames, expected 93"))
    }
}
