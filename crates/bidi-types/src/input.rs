//! What goes into the agent: [`BidiInputEvent`] and its events (the audio one,
//! [`BidiAudioInputEvent`], is an [`AudioChunkEvent`](crate::AudioChunkEvent)): the
//! original's three, and bidi's [`BidiPlaybackEvent`].
//!
//! Input events come from outside the process (a browser over a WebSocket, a script), so they
//! are validated when parsed: unknown `type`, missing or unknown keys, wrong JSON kinds,
//! unsupported rates, channels and formats, and bad base64 each give a [`TypesError`] that
//! names the key and the value.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::audio_chunk::BidiAudioInputEvent;
use crate::fields::{self, Fields};
use crate::{Channels, Role, SampleRate, TypesError};

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
            image: fields::encode_base64(bytes),
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

/// bidi's extension of the original's input events: a remote player's report of what it
/// played, `{"type": "bidi_playback", "played_ms": N}`, N the milliseconds of the current
/// response's audio heard since its `bidi_response_start`. The agent turns it into the heard
/// position ([`PlaybackTracker::report_played`](crate::PlaybackTracker::report_played)) that
/// truncates an interrupted turn and cuts its transcript in the history; it never reaches the
/// model. An optional `response_id` names the response the report is about: a report about
/// another response than the current one is ignored.
///
/// ```
/// use bidi_types::{BidiInputEvent, BidiPlaybackEvent};
/// use serde_json::json;
///
/// let e = BidiInputEvent::from_json(&json!({"type": "bidi_playback", "played_ms": 1200})).unwrap();
/// assert!(matches!(e, BidiInputEvent::Playback(ref p) if p.played_ms() == 1200));
/// assert!(BidiInputEvent::from_json(&json!({"type": "bidi_playback", "played_ms": -5})).is_err());
/// assert_eq!(BidiPlaybackEvent::new(40).to_string(), r#"{"type":"bidi_playback","played_ms":40}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename = "bidi_playback")]
pub struct BidiPlaybackEvent {
    played_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_id: Option<String>,
}

impl BidiPlaybackEvent {
    /// The `type` tag.
    pub const TYPE: &'static str = "bidi_playback";

    /// The longest position accepted: a day of audio in one response is not a report.
    pub const MAX_PLAYED_MS: u64 = 86_400_000;

    /// `played_ms` of the current response heard.
    pub fn new(played_ms: u64) -> Self {
        Self {
            played_ms,
            response_id: None,
        }
    }

    /// The same report, about the response `id`.
    pub fn for_response(mut self, id: impl Into<String>) -> Self {
        self.response_id = Some(id.into());
        self
    }

    /// Milliseconds of the response's audio heard.
    pub fn played_ms(&self) -> u64 {
        self.played_ms
    }

    /// The response the report is about, when the player named it.
    pub fn response_id(&self) -> Option<&str> {
        self.response_id.as_deref()
    }

    fn parse(f: &Fields<'_>) -> Result<Self, TypesError> {
        let played_ms = f.u64("played_ms")?;
        if played_ms > Self::MAX_PLAYED_MS {
            return Err(TypesError::OutOfRange {
                field: "played_ms",
                value: played_ms.to_string(),
                reason: "more than a day of audio in one response",
            });
        }
        let event = Self::new(played_ms);
        Ok(match f.opt_str("response_id")? {
            Some(id) => event.for_response(id),
            None => event,
        })
    }
}

impl std::fmt::Display for BidiPlaybackEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let json = serde_json::to_string(self).map_err(|_| std::fmt::Error)?;
        f.write_str(&json)
    }
}

/// Anything the agent can send to a model (text, audio or an image), or a player's
/// `bidi_playback` report, which the agent keeps for itself.
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
    /// `bidi_playback` (bidi's extension; handled by the agent, never sent to a model).
    Playback(BidiPlaybackEvent),
}

impl BidiInputEvent {
    /// The event's `type` tag.
    pub const fn event_type(&self) -> &'static str {
        match self {
            Self::Text(_) => BidiTextInputEvent::TYPE,
            Self::Audio(_) => BidiAudioInputEvent::TYPE,
            Self::Image(_) => BidiImageInputEvent::TYPE,
            Self::Playback(_) => BidiPlaybackEvent::TYPE,
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
            BidiPlaybackEvent::TYPE => {
                let f = Fields::new(BidiPlaybackEvent::TYPE, map, &["played_ms", "response_id"])?;
                BidiPlaybackEvent::parse(&f).map(Self::Playback)
            }
            other => Err(TypesError::UnknownType {
                type_name: other.to_owned(),
            }),
        }
    }

    /// Parses and validates JSON text. A well-formed `bidi_audio_input` (the event that
    /// comes every 20-100 ms) is read straight into its event, without a [`Value`] tree;
    /// anything else, or anything wrong with it, takes the general path and its errors.
    pub fn from_json_str(text: &str) -> Result<Self, TypesError> {
        if let Ok(frame) = serde_json::from_str::<AudioFrame<'_>>(text)
            && let Some(audio) = frame.event(None)
        {
            return Ok(Self::Audio(audio));
        }
        Self::from_json(&serde_json::from_str::<Value>(text)?)
    }

    /// Parses like [`from_json_str`](Self::from_json_str), and leaves a `bidi_audio_input`'s
    /// audio decoded in `audio` (cleared first; empty after any other event): checking the
    /// base64 decodes it anyway, so a reader that wants the bytes decodes each frame once.
    ///
    /// ```
    /// use bidi_types::BidiInputEvent;
    ///
    /// let mut pcm = Vec::new();
    /// let frame = r#"{"type":"bidi_audio_input","audio":"AQID","format":"pcm","sample_rate":16000,"channels":1}"#;
    /// let event = BidiInputEvent::from_json_str_decoding(frame, &mut pcm).unwrap();
    /// assert!(matches!(event, BidiInputEvent::Audio(_)));
    /// assert_eq!(pcm, [1, 2, 3]);
    /// let text = r#"{"type":"bidi_text_input","text":"hi","role":"user"}"#;
    /// BidiInputEvent::from_json_str_decoding(text, &mut pcm).unwrap();
    /// assert!(pcm.is_empty());
    /// ```
    pub fn from_json_str_decoding(text: &str, audio: &mut Vec<u8>) -> Result<Self, TypesError> {
        audio.clear();
        if let Ok(frame) = serde_json::from_str::<AudioFrame<'_>>(text)
            && let Some(event) = frame.event(Some(&mut *audio))
        {
            return Ok(Self::Audio(event));
        }
        let event = Self::from_json(&serde_json::from_str::<Value>(text)?)?;
        match &event {
            // A frame the fast path did not take (keys in another form): decoded here.
            Self::Audio(a) => a.audio_bytes_into(audio)?,
            _ => audio.clear(),
        }
        Ok(event)
    }

    /// The event as a JSON value.
    pub fn to_json(&self) -> Value {
        // Serialising these types cannot fail: every key is a string and every value is plain.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// A `bidi_audio_input` frame borrowed from its text: the fast path of
/// [`BidiInputEvent::from_json_str`]. The same keys as the general path, none unknown.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AudioFrame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    audio: Cow<'a, str>,
    #[serde(borrow)]
    format: Cow<'a, str>,
    sample_rate: u64,
    channels: u64,
}

impl AudioFrame<'_> {
    /// The event, when every key holds what the general path accepts; its audio checked by
    /// decoding it into `bytes` when given.
    fn event(self, bytes: Option<&mut Vec<u8>>) -> Option<BidiAudioInputEvent> {
        if self.kind != BidiAudioInputEvent::TYPE {
            return None;
        }
        let format = self.format.parse().ok()?;
        let sample_rate = SampleRate::try_from(self.sample_rate).ok()?;
        let channels = Channels::try_from(self.channels).ok()?;
        let audio = self.audio.into_owned();
        match bytes {
            Some(bytes) => {
                BidiAudioInputEvent::decoded(audio, format, sample_rate, channels, bytes).ok()
            }
            None => BidiAudioInputEvent::new(audio, format, sample_rate, channels).ok(),
        }
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

impl From<BidiPlaybackEvent> for BidiInputEvent {
    fn from(e: BidiPlaybackEvent) -> Self {
        Self::Playback(e)
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
