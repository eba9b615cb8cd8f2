import Hub
import Testing

/// libcurl and SQLite are linked and callable (the downloader and the index build on them).
@Suite struct LinkTests {
    @Test func curlAndSQLiteReportTheirVersions() {
        let versions = HubLinkCheck.libraryVersions
        #expect(versions.hasPrefix("libcurl/"), "\(versions)")
        #expect(versions.contains("; sqlite 3."), "\(versions)")
    }
}
