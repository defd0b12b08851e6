//! The pure mapping between MCP and bidi: an MCP tool's spec to a [`ToolSpec`], an MCP call
//! result to a [`ToolResult`], as the reference's MCP client does.

use base64::Engine as _;
use bidi_agent::types::{
    BinarySource, ImageBlock, ToolResult, ToolResultContent, ToolResultStatus, ToolSpec,
};
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents, Tool};
use serde_json::Value;

/// The image format of a MIME type, for the formats models take.
///
/// ```
/// assert_eq!(bidi_mcp::convert::image_format("image/jpg"), Some("jpeg"));
/// assert_eq!(bidi_mcp::convert::image_format("image/bmp"), None);
/// ```
pub fn image_format(mime_type: &str) -> Option<&'static str> {
    match mime_type {
        "image/jpeg" | "image/jpg" => Some("jpeg"),
        "image/png" => Some("png"),
        "image/gif" => Some("gif"),
        "image/webp" => Some("webp"),
        _ => None,
    }
}

/// The spec the model sees for an MCP tool, under `name` (the tool's own name, or prefixed).
/// A tool without a description is described as `Tool which performs <name>`, as in the
/// reference.
///
/// ```
/// use rmcp::model::Tool;
/// use serde_json::json;
///
/// let tool: Tool = serde_json::from_value(json!({
///     "name": "add", "inputSchema": {"type": "object", "properties": {"a": {"type": "integer"}}}
/// })).unwrap();
/// let spec = bidi_mcp::convert::tool_spec(&tool, "calc_add");
/// assert_eq!(spec.name, "calc_add");
/// assert_eq!(spec.description, "Tool which performs add");
/// assert_eq!(spec.input_schema.json["properties"]["a"]["type"], "integer");
/// ```
pub fn tool_spec(tool: &Tool, name: &str) -> ToolSpec {
    let description = tool
        .description
        .as_deref()
        .filter(|d| !d.is_empty())
        .map_or_else(
            || format!("Tool which performs {}", tool.name),
            str::to_owned,
        );
    ToolSpec::new(
        name,
        description,
        Value::Object(tool.input_schema.as_ref().clone()),
    )
}

fn is_textual(mime_type: &str) -> bool {
    mime_type.starts_with("text/")
        || matches!(
            mime_type,
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/yaml"
                | "application/x-yaml"
        )
        || mime_type.ends_with("+json")
        || mime_type.ends_with("+xml")
}

fn image(format: &str, base64: String) -> ToolResultContent {
    ToolResultContent::Image(ImageBlock {
        format: format.to_owned(),
        source: BinarySource { bytes: base64 },
    })
}

/// One MCP content block as a tool-result block; `None` for what models cannot take (audio,
/// resource links, images of other formats, undecodable blobs), which is dropped.
pub fn content_block(content: ContentBlock) -> Option<ToolResultContent> {
    match content {
        ContentBlock::Text(t) => Some(ToolResultContent::Text(t.text)),
        ContentBlock::Image(i) => image_format(&i.mime_type).map(|f| image(f, i.data)),
        ContentBlock::Resource(r) => match r.resource {
            ResourceContents::TextResourceContents { text, .. } => {
                Some(ToolResultContent::Text(text))
            }
            ResourceContents::BlobResourceContents {
                blob, mime_type, ..
            } => {
                let mime_type = mime_type.unwrap_or_default();
                if is_textual(&mime_type) {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(blob.as_bytes())
                        .ok()?;
                    Some(ToolResultContent::Text(
                        String::from_utf8_lossy(&bytes).into_owned(),
                    ))
                } else {
                    image_format(&mime_type).map(|f| image(f, blob))
                }
            }
            _ => None,
        },
        other => {
            tracing::debug!(
                "content=<{}> | unsupported MCP content, dropped",
                kind(&other)
            );
            None
        }
    }
}

fn kind(content: &ContentBlock) -> &'static str {
    match content {
        ContentBlock::Text(_) => "text",
        ContentBlock::Image(_) => "image",
        ContentBlock::Audio(_) => "audio",
        ContentBlock::Resource(_) => "resource",
        ContentBlock::ResourceLink(_) => "resource_link",
        _ => "unknown",
    }
}

/// An MCP call result as the result of the call `tool_use_id`: each supported block in order,
/// then the structured content (if any) as a last `json` block; `isError` gives the `error`
/// status.
///
/// ```
/// use rmcp::model::{CallToolResult, ContentBlock};
/// use bidi_agent::types::{ToolResultContent, ToolResultStatus};
///
/// let result = bidi_mcp::convert::tool_result("t1", CallToolResult::error(vec![ContentBlock::text("no such city")]));
/// assert_eq!(result.status, ToolResultStatus::Error);
/// assert_eq!(result.content, vec![ToolResultContent::Text("no such city".into())]);
/// ```
pub fn tool_result(tool_use_id: &str, result: CallToolResult) -> ToolResult {
    let mut content: Vec<ToolResultContent> = result
        .content
        .into_iter()
        .filter_map(content_block)
        .collect();
    if let Some(structured) = result.structured_content {
        content.push(ToolResultContent::Json(structured));
    }
    ToolResult {
        tool_use_id: tool_use_id.to_owned(),
        status: if result.is_error == Some(true) {
            ToolResultStatus::Error
        } else {
            ToolResultStatus::Success
        },
        content,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn block(v: Value) -> ContentBlock {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn blocks_map_as_the_reference_does() {
        assert_eq!(
            content_block(block(
                json!({"type": "image", "data": "iVBO", "mimeType": "image/png"})
            )),
            Some(image("png", "iVBO".into()))
        );
        assert_eq!(
            content_block(block(
                json!({"type": "image", "data": "AAAA", "mimeType": "image/bmp"})
            )),
            None
        );
        let text_blob = base64::engine::general_purpose::STANDARD.encode(b"{\"a\":1}");
        assert_eq!(
            content_block(block(json!({"type": "resource", "resource": {
                "uri": "file:///a.json", "mimeType": "application/json", "blob": text_blob}}))),
            Some(ToolResultContent::Text("{\"a\":1}".into()))
        );
        assert_eq!(
            content_block(block(json!({"type": "resource", "resource": {
                "uri": "file:///a.txt", "text": "hello"}}))),
            Some(ToolResultContent::Text("hello".into()))
        );
        assert_eq!(
            content_block(block(json!({"type": "resource", "resource": {
                "uri": "file:///a.bin", "mimeType": "application/octet-stream", "blob": "AAAA"}}))),
            None
        );
        assert_eq!(
            content_block(block(
                json!({"type": "audio", "data": "AAAA", "mimeType": "audio/wav"})
            )),
            None
        );
    }

    #[test]
    fn structured_content_is_the_last_block() {
        let result = tool_result("t1", CallToolResult::structured(json!({"temp": 21})));
        assert_eq!(result.tool_use_id, "t1");
        assert!(result.is_success());
        assert_eq!(
            result.content,
            vec![
                ToolResultContent::Text("{\"temp\":21}".into()),
                ToolResultContent::Json(json!({"temp": 21}))
            ]
        );
    }
}
