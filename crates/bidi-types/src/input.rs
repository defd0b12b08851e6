//! What goes into the agent: [`BidiInputEvent`] and its three events (the audio one,
//! [`BidiAudioInputEvent`], is an [`AudioChunkEvent`](crate::AudioChunkEvent)).
//!
//! Input events come from outside the process (a browser over a WebSocket, a script), so they
//! are validated when parsed: unknown `type`, missing or unknown keys, wrong JSON kinds,
//! unsupported rates, channels and formats, and bad base64 each give a [`TypesError`] that
//! names the key and the value.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::audio_chunk::BidiAudioInputEvent;
use crate::fields::{self, BASE64, Fields};
use crate::{Role, TypesError};

use base64::Engine as _;

/// Text for the model: `{"type": "bidi_text_input", "text", "role"}`.
///
/// ```
/// use bidi_types::{BidiTextInputEvent, Role};
/// let e = BidiTextInputEvent::new("What's the weather?");
/// assert_eq!(e.role(), Role::User);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename = "bidi_text_input")]
pub struct BidiTextInputEvent {
    text: String,
    role: Role,
}

impl BidiTextInputEvent {
    /// The `type` tag.
    pub const TYPE: &'static str = "bidi_text_input";

    /// Text from the user.
    pub fn new(text: impl Into<String>) -> Self {
        Self::with_role(text, Role::User)
    }

    /// Text with an explicit role.
    pub fn with_role(text: impl Into<String>, role: Role) -> Self {
        Self {
            text: text.into(),
            role,
        }
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Who it is from (`user` unless set).
    pub fn role(&self) -> Role {
        self.role
    }

    fn parse(f: &Fields<'_>) -> Result<Self, TypesError> {
        let role = match f.opt_str("role")? {
            None => Role::User,
            Some(r) => r.parse().map_err(|e: TypesError| e.in_field("role"))?,
        };
        Ok(Self::with_role(f.str("text")?, role))
    }
}

/// An image or video frame for the model: `{"type": "bidi_image_input", "image" (base64),
/// "mime_type"}`.
///
/// ```
/// use bidi_types::BidiImageInputEvent;
/// let e = BidiImageInputEvent::new("iVBORw==", "image/png").unwrap();
/// assert_eq!(e.mime_type(), "image/png");
/// assert!(BidiImageInputEvent::new("not base64!", "image/png").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename = "bidi_image_input")]
pub struct BidiImageInputEvent {
    image: String,
    mime_type: String,
}

impl BidiImageInputEvent {
    /// The `type` tag.
    pub const TYPE: &'static str = "bidi_image_input";

    /// An event from base64 text, which is checked.
    pub fn new(image: impl Into<String>, mime_type: impl Into<String>) -> Result<Self, TypesError> {
        let image = image.into();
        fields::check_base64("image", &image)?;
        Ok(Self {
            image,
            mime_type: mime_type.into(),
        })
    }

    /// An event from raw bytes, which are base64-encoded.
    pub fn from_bytes(bytes: &[u8], mime_type: impl Into<String>) -> Self {
        Self {
            image: BASE64.encode(bytes),
            mime_type: mime_type.into(),
        }
    }

    /// The image, base64.
    pub fn image(&self) -> &str {
        &self.image
    }

    /// The image, decoded.
    pub fn image_bytes(&self) -> Result<Vec<u8>, TypesError> {
        fields::decode_base64("image", &self.image)
    }

    /// Its MIME type (`image/jpeg`, `image/png`, ...).
    pub fn mime_type(&self) -> &str {
        &self.mime_type
    }

    fn parse(f: &Fields<'_>) -> Result<Self, TypesError> {
        Self::new(f.str("image")?, f.str("mime_type")?)
    }
}

/// Anything the agent can send to a model: text, audio or an image.
///
/// Serialises to the reference's dicts; parses them with validation ([`Self::from_json`]),
/// also through `serde` (`serde_json::from_str::<BidiInputEvent>`), which reports the same
/// errors as text.
///
/// ```
/// use bidi_types::{BidiInputEvent, TypesError};
/// use serde_json::json;
///
/// let e = BidiInputEvent::from_json(&json!({"type": "bidi_text_input", "text": "hi", "role": "user"})).unwrap();
/// assert!(matches!(e, BidiInputEvent::Text(ref t) if t.text() == "hi"));
/// assert_eq!(serde_json::to_value(&e).unwrap()["type"], "bidi_text_input");
///
/// let err = BidiInputEvent::from_json(&json!({"type": "bidi_video_input"})).unwrap_err();
/// assert!(matches!(err, TypesError::UnknownType { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum BidiInputEvent {
    /// `bidi_text_input`.
    Text(BidiTextInputEvent),
    /// `bidi_audio_input`.
    Audio(BidiAudioInputEvent),
    /// `bidi_image_input`.
    Image(BidiImageInputEvent),
}

impl BidiInputEvent {
    /// The event's `type` tag.
    pub const fn event_type(&self) -> &'static str {
        match self {
            Self::Text(_) => BidiTextInputEvent::TYPE,
            Self::Audio(_) => BidiAudioInputEvent::TYPE,
            Self::Image(_) => BidiImageInputEvent::TYPE,
        }
    }

    /// Parses and validates a JSON dict in the reference's form.
    pub fn from_json(value: &Value) -> Result<Self, TypesError> {
        let map = fields::object(value)?;
        match fields::type_tag(map)? {
            BidiTextInputEvent::TYPE => {
                let f = Fields::new(BidiTextInputEvent::TYPE, map, &["text", "role"])?;
                BidiTextInputEvent::parse(&f).map(Self::Text)
            }
            BidiAudioInputEvent::TYPE => {
                let f = Fields::new(
                    BidiAudioInputEvent::TYPE,
                    map,
                    &["audio", "format", "sample_rate", "channels"],
                )?;
                BidiAudioInputEvent::parse(&f).map(Self::Audio)
            }
            BidiImageInputEvent::TYPE => {
                let f = Fields::new(BidiImageInputEvent::TYPE, map, &["image", "mime_type"])?;
                BidiImageInputEvent::parse(&f).map(Self::Image)
            }
            other => Err(TypesError::UnknownType {
                type_name: other.to_owned(),
            }),
        }
    }

    /// Parses and validates JSON text.
    pub fn from_json_str(text: &str) -> Result<Self, TypesError> {
        Self::from_json(&serde_json::from_str::<Value>(text)?)
    }

    /// The event as a JSON value.
    pub fn to_json(&self) -> Value {
        // Serialising these types cannot fail: every key is a string and every value is plain.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl TryFrom<Value> for BidiInputEvent {
    type Error = TypesError;
    fn try_from(value: Value) -> Result<Self, Self::Error> {
        Self::from_json(&value)
    }
}

impl TryFrom<&Value> for BidiInputEvent {
    type Error = TypesError;
    fn try_from(value: &Value) -> Result<Self, Self::Error> {
        Self::from_json(value)
    }
}

impl<'de> Deserialize<'de> for BidiInputEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Self::from_json(&value).map_err(serde::de::Error::custom)
    }
}

impl From<BidiTextInputEvent> for BidiInputEvent {
    fn from(e: BidiTextInputEvent) -> Self {
        Self::Text(e)
    }
}

impl From<BidiAudioInputEvent> for BidiInputEvent {
    fn from(e: BidiAudioInputEvent) -> Self {
        Self::Audio(e)
    }
}

impl From<BidiImageInputEvent> for BidiInputEvent {
    fn from(e: BidiImageInputEvent) -> Self {
        Self::Image(e)
    }
}

impl From<&str> for BidiInputEvent {
    /// Text from the user, as the reference treats a bare string.
    fn from(text: &str) -> Self {
        Self::Text(BidiTextInputEvent::new(text))
    }
}

impl From<String> for BidiInputEvent {
    /// Text from the user, as the reference treats a bare string.
    fn from(text: String) -> Self {
        Self::Text(BidiTextInputEvent::new(text))
    }
}

macro_rules! deserialize_via_enum {
    ($ty:ident, $variant:ident) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                match BidiInputEvent::deserialize(d)? {
                    BidiInputEvent::$variant(e) => Ok(e),
                    other => Err(serde::de::Error::custom(format!(
                        "input_type=<{}> | expected {}",
                        other.event_type(),
                        $ty::TYPE
                    ))),
                }
            }
        }
    };
}

deserialize_via_enum!(BidiTextInputEvent, Text);
deserialize_via_enum!(BidiAudioInputEvent, Audio);
deserialize_via_enum!(BidiImageInputEvent, Image);
