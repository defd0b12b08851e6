//! The TwiML that connects a call to the server's Media Streams socket.

/// `<Response><Connect><Stream url="URL">` with a `<Parameter>` per `(name, value)` (Twilio
/// refuses a query string in the Stream URL; parameters reach the socket's `start` message
/// as `customParameters`). Names and values are XML-escaped.
///
/// ```
/// let xml = bidi_server::twilio::twiml::connect_stream("wss://example.com/twilio/media", &[("from", "+1555")]);
/// assert_eq!(xml, r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="wss://example.com/twilio/media"><Parameter name="from" value="+1555"/></Stream></Connect></Response>"#);
/// ```
pub fn connect_stream(url: &str, parameters: &[(&str, &str)]) -> String {
    let mut xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="{}">"#,
        escape(url)
    );
    for (name, value) in parameters {
        xml.push_str(&format!(
            r#"<Parameter name="{}" value="{}"/>"#,
            escape(name),
            escape(value)
        ));
    }
    xml.push_str("</Stream></Connect></Response>");
    xml
}

/// `text` with XML's five special characters escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_are_escaped() {
        let xml = super::connect_stream("wss://h/twilio/media", &[("n", r#"a&b<"c'>"#)]);
        assert!(
            xml.contains(r#"value="a&amp;b&lt;&quot;c&apos;&gt;""#),
            "{xml}"
        );
    }
}
