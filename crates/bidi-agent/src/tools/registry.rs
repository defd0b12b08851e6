//! [`ToolRegistry`]: the agent's tools by name, with their normalised specs.

use std::sync::Arc;

use bidi_types::ToolSpec;
use serde_json::{Map, Value};

use super::{AgentTool, ToolError};

const COMPOSITION_KEYS: [&str; 4] = ["$ref", "anyOf", "oneOf", "allOf"];

/// Normalises a spec as the reference does before sending it to a model: the schema gets
/// `type: "object"`, `properties: {}` and `required: []` when missing, and each property
/// without `$ref` or a composition keyword gets `type: "string"` and
/// `description: "Property <name>"` when missing. `$schema` and `title` are dropped.
///
/// ```
/// use bidi_agent::tools::normalize_spec;
/// use bidi_agent::types::ToolSpec;
/// use serde_json::json;
///
/// let spec = normalize_spec(ToolSpec::new("t", "d", json!({"properties": {"x": {}}})));
/// assert_eq!(
///     spec.input_schema.json,
///     json!({"properties": {"x": {"type": "string", "description": "Property x"}}, "type": "object", "required": []})
/// );
/// ```
pub fn normalize_spec(mut spec: ToolSpec) -> ToolSpec {
    let schema = match std::mem::take(&mut spec.input_schema.json) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    spec.input_schema.json = Value::Object(normalize_schema(schema));
    spec
}

fn normalize_schema(mut schema: Map<String, Value>) -> Map<String, Value> {
    schema.shift_remove("$schema");
    schema.shift_remove("title");
    if !schema.contains_key("properties") {
        schema.insert("properties".into(), Value::Object(Map::new()));
    }
    if !schema.contains_key("type") {
        schema.insert("type".into(), Value::String("object".into()));
    }
    if !schema.contains_key("required") {
        schema.insert("required".into(), Value::Array(Vec::new()));
    }
    if let Some(Value::Object(props)) = schema.get_mut("properties") {
        for (name, prop) in props.iter_mut() {
            let Value::Object(p) = prop else { continue };
            if COMPOSITION_KEYS.iter().any(|k| p.contains_key(*k)) {
                continue;
            }
            if !p.contains_key("type") {
                p.insert("type".into(), Value::String("string".into()));
            }
            if !p.contains_key("description") {
                p.insert(
                    "description".into(),
                    Value::String(format!("Property {name}")),
                );
            }
        }
    }
    schema
}

#[derive(Clone)]
struct Entry {
    spec: ToolSpec,
    tool: Arc<dyn AgentTool>,
}

/// The agent's tools, in registration order, each with its normalised spec.
///
/// Names are unique, also up to `-`/`_` (`get-time` and `get_time` cannot both be
/// registered).
///
/// ```
/// use bidi_agent::tools::{StopConversation, ToolRegistry};
///
/// let mut registry = ToolRegistry::new();
/// registry.register(StopConversation).unwrap();
/// assert_eq!(registry.names(), ["stop_conversation"]);
/// assert!(registry.register(StopConversation).is_err());
/// ```
#[derive(Clone, Default)]
pub struct ToolRegistry {
    entries: Vec<Entry>,
}

impl std::fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

fn loose(name: &str) -> String {
    name.replace('-', "_")
}

impl ToolRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a tool.
    pub fn register(&mut self, tool: impl AgentTool) -> Result<(), ToolError> {
        self.register_arc(Arc::new(tool))
    }

    /// Registers a shared tool. Errors on a duplicate or ambiguous name and on a spec
    /// without a name or a description.
    pub fn register_arc(&mut self, tool: Arc<dyn AgentTool>) -> Result<(), ToolError> {
        let spec = normalize_spec(tool.spec());
        if spec.name.is_empty() || spec.description.is_empty() {
            return Err(ToolError::InvalidSpec(spec.name));
        }
        for e in &self.entries {
            if e.spec.name == spec.name {
                return Err(ToolError::Duplicate(spec.name));
            }
            if loose(&e.spec.name) == loose(&spec.name) {
                return Err(ToolError::AmbiguousName {
                    name: spec.name,
                    existing: e.spec.name.clone(),
                });
            }
        }
        tracing::debug!(tool_name = %spec.name, "tool_name=<{}> | tool registered", spec.name);
        self.entries.push(Entry { spec, tool });
        Ok(())
    }

    /// The tool named exactly `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn AgentTool>> {
        self.entries
            .iter()
            .find(|e| e.spec.name == name)
            .map(|e| Arc::clone(&e.tool))
    }

    /// The tool named `name`, or else (for a name with `_`) the one whose name matches with
    /// `-` read as `_`, as direct calls look tools up. Returns the registered name too.
    pub fn find(&self, name: &str) -> Option<(String, Arc<dyn AgentTool>)> {
        let exact = self.entries.iter().find(|e| e.spec.name == name);
        let found = exact.or_else(|| {
            name.contains('_')
                .then(|| self.entries.iter().find(|e| loose(&e.spec.name) == name))
                .flatten()
        });
        found.map(|e| (e.spec.name.clone(), Arc::clone(&e.tool)))
    }

    /// The normalised spec of `name`.
    pub fn spec(&self, name: &str) -> Option<&ToolSpec> {
        self.entries
            .iter()
            .find(|e| e.spec.name == name)
            .map(|e| &e.spec)
    }

    /// Every normalised spec, in registration order (what models are started with).
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.entries.iter().map(|e| e.spec.clone()).collect()
    }

    /// Every name, in registration order.
    pub fn names(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.spec.name.clone()).collect()
    }

    /// How many tools.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use bidi_types::ToolResult;
    use serde_json::json;

    struct Named(&'static str, &'static str);

    #[async_trait::async_trait]
    impl AgentTool for Named {
        fn spec(&self) -> ToolSpec {
            ToolSpec::new(
                self.0,
                self.1,
                json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/X"}}}),
            )
        }
        async fn invoke(&self, ctx: super::super::ToolContext) -> Result<ToolResult, ToolError> {
            Ok(ToolResult::text(&ctx.tool_use().tool_use_id, self.0))
        }
    }

    #[test]
    fn duplicates_and_dash_underscore_clashes_are_refused() {
        let mut r = ToolRegistry::new();
        r.register(Named("get-time", "d")).unwrap();
        assert!(
            matches!(r.register(Named("get-time", "d")), Err(ToolError::Duplicate(n)) if n == "get-time")
        );
        assert!(matches!(
            r.register(Named("get_time", "d")),
            Err(ToolError::AmbiguousName { .. })
        ));
        assert!(matches!(
            r.register(Named("x", "")),
            Err(ToolError::InvalidSpec(_))
        ));
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn find_reads_dashes_as_underscores_and_refs_are_left_alone() {
        let mut r = ToolRegistry::new();
        r.register(Named("get-time", "d")).unwrap();
        assert_eq!(
            r.find("get_time").map(|(n, _)| n),
            Some("get-time".to_owned())
        );
        assert!(r.find("gettime").is_none());
        assert_eq!(
            r.spec("get-time").unwrap().input_schema.json,
            json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/X"}}, "required": []})
        );
    }
}
