import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file operation failed, in words a user can act on: the system's text for the
/// errno behind it, never Foundation's raw `NSCocoaErrorDomain` text.
public enum FileErrorReason {
    /// The system's text for the errno behind `error` (`Not a directory`, `Permission
    /// denied`, `No space left on device`) when Foundation kept one, else its description.
    /// On Linux Foundation's own text for most file errors is only
    /// `The operation could not be completed. (NSCocoaErrorDomain error 512.)`.
    public static func of(_ error: any Error) -> String {
        let error = error as NSError
        if error.domain == NSPOSIXErrorDomain { return text(Int32(error.code)) }
        // Linux Foundation keeps a Swift `POSIXError` there, which `as? NSError` does not match.
        if let underlying = (error.userInfo[NSUnderlyingErrorKey] as? any Error).map({ $0 as NSError }),
           underlying.domain == NSPOSIXErrorDomain {
            return text(Int32(underlying.code))
        }
        switch error.code {
        case NSFileWriteVolumeReadOnlyError: return text(EROFS)
        case NSFileWriteNoPermissionError: return text(EACCES)
        case NSFileWriteOutOfSpaceError: return text(ENOSPC)
        default: return error.localizedDescription
        }
    }

    /// ``of(_:)`` for an operation at `path`, first naming a file that stands where one
    /// of its folders should be.
    public static func of(_ error: any Error, path: URL) -> String {
        var isDirectory: ObjCBool = false
        var ancestor = path
        while ancestor.path != "/" {
            if FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) {
                if !isDirectory.boolValue { return "\(ancestor.path) is a file, not a folder" }
                break
            }
            ancestor = ancestor.deletingLastPathComponent()
        }
        return of(error)
    }

    /// The system's text for an `errno` value.
    public static func text(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
