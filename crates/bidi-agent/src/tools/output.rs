//! [`IntoToolResult`]: how a `#[tool]` function's return value becomes a [`ToolResult`].

use std::fmt::Display;

use bidi_types::{ToolResult, ToolResultContent, ToolResultStatus};
use serde::Serialize;
use serde_json::Value;

/// A value a tool function may return.
///
/// - `String` / `&str`: one text block;
/// - [`ToolResult`]: used as is (its `toolUseId` replaced by the call's);
/// - [`Value`]: one `json` block; wrap any `Serialize` value in [`Json`] for the same;
/// - numbers, `bool` and `()`: their text (`()` gives an empty text);
/// - `Result<T, E>`: `Ok` as above, `Err(e)` an `error` result with the text `Error: <e>`.
///
/// ```
/// use bidi_agent::tools::IntoToolResult;
/// use bidi_agent::types::ToolResultStatus;
///
/// let ok = "sunny".into_tool_result("t1");
/// assert_eq!(ok.status, ToolResultStatus::Success);
/// let err = Err::<String, _>("no city").into_tool_result("t1");
/// assert_eq!(err.status, ToolResultStatus::Error);
/// ```
pub trait IntoToolResult {
    /// The result for the call `tool_use_id`.
    fn into_tool_result(self, tool_use_id: &str) -> ToolResult;
}

/// Any `Serialize` value, returned as one `json` block (text if it cannot be serialised).
///
/// ```
/// use bidi_agent::tools::{IntoToolResult, Json};
/// use bidi_agent::types::ToolResultContent;
///
/// let r = Json(vec![1, 2]).into_tool_result("t1");
/// assert_eq!(r.content, vec![ToolResultContent::Json(serde_json::json!([1, 2]))]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Json<T>(pub T);

impl IntoToolResult for ToolResult {
    fn into_tool_result(mut self, tool_use_id: &str) -> ToolResult {
        tool_use_id.clone_into(&mut self.tool_use_id);
        self
    }
}

impl IntoToolResult for String {
    fn into_tool_result(self, tool_use_id: &str) -> ToolResult {
        ToolResult::text(tool_use_id, self)
    }
}

impl IntoToolResult for &str {
    fn into_tool_result(self, tool_use_id: &str) -> ToolResult {
        ToolResult::text(tool_use_id, self)
    }
}

impl IntoToolResult for Value {
    fn into_tool_result(self, tool_use_id: &str) -> ToolResult {
        ToolResult::json(tool_use_id, self)
    }
}

impl IntoToolResult for () {
    fn into_tool_result(self, tool_use_id: &str) -> ToolResult {
        ToolResult::text(tool_use_id, "")
    }
}

impl IntoToolResult for Vec<ToolResultContent> {
    fn into_tool_result(self, tool_use_id: &str) -> ToolResult {
        ToolResult {
            tool_use_id: tool_use_id.to_owned(),
            status: ToolResultStatus::Success,
            content: self,
        }
    }
}

impl<T: Serialize> IntoToolResult for Json<T> {
    fn into_tool_result(self, tool_use_id: &str) -> ToolResult {
        match serde_json::to_value(&self.0) {
            Ok(v) => ToolResult::json(tool_use_id, v),
            Err(e) => ToolResult::error(tool_use_id, format!("Error: {e}")),
        }
    }
}

macro_rules! display_results {
    ($($t:ty),*) => {$(
        impl IntoToolResult for $t {
            fn into_tool_result(self, tool_use_id: &str) -> ToolResult {
                ToolResult::text(tool_use_id, self.to_string())
            }
        }
    )*};
}

display_results!(
    bool, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64
);

impl<T: IntoToolResult, E: Display> IntoToolResult for Result<T, E> {
    fn into_tool_result(self, tool_use_id: &str) -> ToolResult {
        match self {
            Ok(v) => v.into_tool_result(tool_use_id),
            Err(e) => ToolResult::error(tool_use_id, format!("Error: {e}")),
        }
    }
}
