//! The reference's default model: with the `nova-sonic` feature, an agent built without a
//! model talks to Nova Sonic v2 (port of `test_bidi_agent_init_with_model_id` and the
//! default-model case of `test_bidi_agent_init_with_various_configurations`).
#![cfg(feature = "nova-sonic")]

use bidi_agent::BidiAgent;
use bidi_agent::models::nova_sonic::{BidiNovaSonicModel, NovaSonicConfig};

#[test]
fn default_builder_uses_nova_sonic_v2() {
    let agent = BidiAgent::builder_default().build().expect("agent");
    let config = agent.model().config();
    assert_eq!(config.model_id, "amazon.nova-2-sonic-v1:0");
    assert_eq!(config.audio.input_rate.hz(), 16_000);
    assert_eq!(agent.model().connection_id(), None);
}

#[test]
fn a_model_id_selects_that_nova_sonic_model() {
    let model =
        BidiNovaSonicModel::new(NovaSonicConfig::default().with_model_id("amazon.nova-sonic-v1:0"))
            .expect("model");
    let agent = BidiAgent::builder(model).build().expect("agent");
    assert_eq!(agent.model().config().model_id, "amazon.nova-sonic-v1:0");
}
