import Foundation

/// Why a file operation failed, in words a user can act on.
public enum FileErrorReason {
    /// The system's text for the errno behind `error` (`Not a directory`, `Permission
    /// denied`, `No space left on device`) when Foundation kept one, else its description.
    /// On Linux Foundation's own text for most file errors is only
    /// `The operation could not be completed. (NSCocoaErrorDomain error 512.)`.
    public static func of(_ error: any Error) -> String {
        let error = error as NSError
        if error.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(error.code))) }
        // Linux Foundation keeps a Swift `POSIXError` there, which `as? NSError` does not match.
        if let underlying = (error.userInfo[NSUnderlyingErrorKey] as? any Error).map({ $0 as NSError }),
           underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return error.localizedDescription
    }
}
