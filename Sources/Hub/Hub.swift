import CCurl
import CSQLite

/// The registry, cache and downloader arrive with the hub issue; this proves libcurl and SQLite link.
package enum HubLinkCheck {
    /// Versions of the linked libcurl and SQLite.
    package static var libraryVersions: String {
        let curl = String(cString: curl_version())
        let sqlite = String(cString: sqlite3_libversion())
        return "\(curl); sqlite \(sqlite)"
    }
}
