//! The voice page served at `/`: one HTML file with its script and AudioWorklets inline,
//! embedded in the binary (`page/index.html`; its `data-testid` hooks are described in
//! docs/server.md).

/// The page's HTML.
pub const PAGE: &str = include_str!("../page/index.html");
