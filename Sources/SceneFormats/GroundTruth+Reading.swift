import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension GroundTruth {
    /// Reads a document in the plain shape ``encoded()`` writes, without `JSONDecoder`, or
    /// returns nil for anything else, which ``decode(from:)`` then hands to `JSONDecoder`.
    ///
    /// An export reads one labels file per image; through `JSONDecoder` that was a tenth
    /// of exporting 100,000 images. So the common case is read here, and only a document
    /// this reader fully understands is read here: objects with exactly the known keys,
    /// each once, in any order and with any JSON whitespace; strings without escapes;
    /// numbers in JSON's grammar (integers where the type has `Int`, without fraction or
    /// exponent). Anything else (an escape, an unknown or repeated key, a non-finite value
    /// spelled as a string, malformed JSON) returns nil, so whatever is accepted here is
    /// exactly the value `JSONDecoder` gives, and every error still comes from it.
    static func readPlain(_ data: Data) -> GroundTruth? {
        data.withUnsafeBytes { raw in
            var reader = PlainJSONReader(raw.bindMemory(to: UInt8.self))
            guard let truth = reader.groundTruth(), reader.atEnd() else { return nil }
            return truth
        }
    }
}

/// A cursor over the bytes of one ground-truth document (see ``GroundTruth/readPlain(_:)``).
private struct PlainJSONReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var at = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func skipSpace() {
        while at < bytes.count {
            switch bytes[at] {
            case 0x20, 0x0A, 0x0D, 0x09: at += 1
            default: return
            }
        }
    }

    mutating func atEnd() -> Bool {
        skipSpace()
        return at == bytes.count
    }

    /// Consumes `byte` (after whitespace) when it comes next.
    mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        guard at < bytes.count, bytes[at] == byte else { return false }
        at += 1
        return true
    }

    /// A string without escapes or control characters, in valid UTF-8.
    mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = at
        while at < bytes.count {
            let byte = bytes[at]
            if byte == UInt8(ascii: "\"") {
                at += 1
                return String(validating: UnsafeBufferPointer(rebasing: bytes[start..<at - 1]), as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
            at += 1
        }
        return nil
    }

    /// The bytes of a number in JSON's grammar, and whether it has a fraction or exponent.
    mutating func numberText() -> (text: String, integral: Bool)? {
        skipSpace()
        let start = at
        func digits() -> Int {
            let first = at
            while at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) { at += 1 }
            return at - first
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: "-") { at += 1 }
        let leading = at
        let whole = digits()
        guard whole > 0, whole == 1 || bytes[leading] != UInt8(ascii: "0") else { return nil }
        var integral = true
        if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
            at += 1
            guard digits() > 0 else { return nil }
            integral = false
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
            at += 1
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard digits() > 0 else { return nil }
            integral = false
        }
        guard let text = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self) else { return nil }
        return (text, integral)
    }

    mutating func double() -> Double? {
        guard let number = numberText(), let value = Double(number.text), value.isFinite else { return nil }
        return value
    }

    mutating func int() -> Int? {
        guard let number = numberText(), number.integral else { return nil }
        return Int(number.text)
    }

    /// The next key, as its index in `keys`, when it is one of them (written plainly).
    mutating func key(_ keys: [StaticString]) -> Int? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = at
        while at < bytes.count, bytes[at] != UInt8(ascii: "\"") {
            if bytes[at] == UInt8(ascii: "\\") { return nil }
            at += 1
        }
        guard at < bytes.count else { return nil }
        let length = at - start
        at += 1
        return keys.firstIndex { key in
            key.utf8CodeUnitCount == length && memcmp(key.utf8Start, bytes.baseAddress! + start, length) == 0
        }
    }

    /// An object's members: `member` reads the value of the key at an index of `keys` and
    /// says whether it could; every key must come exactly once, and no other.
    mutating func object(keys: [StaticString], _ member: (inout PlainJSONReader, Int) -> Bool) -> Bool {
        guard take(UInt8(ascii: "{")) else { return false }
        var seen = 0
        if take(UInt8(ascii: "}")) { return keys.isEmpty }
        repeat {
            guard let index = key(keys), seen & (1 << index) == 0, take(UInt8(ascii: ":")), member(&self, index) else { return false }
            seen |= 1 << index
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "}")) && seen == (1 << keys.count) - 1
    }

    mutating func box() -> GroundTruth.BoundingBox? {
        var box = GroundTruth.BoundingBox(xmin: 0, ymin: 0, xmax: 0, ymax: 0)
        let read = object(keys: ["xmin", "ymin", "xmax", "ymax"]) { reader, index in
            guard let value = reader.double() else { return false }
            switch index {
            case 0: box.xmin = value
            case 1: box.ymin = value
            case 2: box.xmax = value
            default: box.ymax = value
            }
            return true
        }
        return read ? box : nil
    }

    mutating func labeledObject() -> GroundTruth.Object? {
        var className: String?, confidence: Double?, bbox: GroundTruth.BoundingBox?
        let read = object(keys: ["class", "confidence", "bbox"]) { reader, index in
            switch index {
            case 0: className = reader.string(); return className != nil
            case 1: confidence = reader.double(); return confidence != nil
            default: bbox = reader.box(); return bbox != nil
            }
        }
        guard read, let className, let confidence, let bbox else { return nil }
        return GroundTruth.Object(className: className, confidence: confidence, bbox: bbox)
    }

    mutating func objects() -> [GroundTruth.Object]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var objects: [GroundTruth.Object] = []
        if take(UInt8(ascii: "]")) { return objects }
        repeat {
            guard let object = labeledObject() else { return nil }
            objects.append(object)
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? objects : nil
    }

    mutating func groundTruth() -> GroundTruth? {
        var format: String?, image: String?, source: String?, width: Int?, height: Int?, objects: [GroundTruth.Object]?
        let read = object(keys: ["format", "image", "width", "height", "source", "objects"]) { reader, index in
            switch index {
            case 0: format = reader.string(); return format != nil
            case 1: image = reader.string(); return image != nil
            case 2: width = reader.int(); return width != nil
            case 3: height = reader.int(); return height != nil
            case 4: source = reader.string(); return source != nil
            default: objects = reader.objects(); return objects != nil
            }
        }
        guard read, let format, let image, let source, let width, let height, let objects else { return nil }
        var truth = GroundTruth(image: image, width: width, height: height, source: source, objects: objects)
        truth.format = format
        return truth
    }
}
