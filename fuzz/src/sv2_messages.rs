//! `sv2_messages`: what our Stratum V2 server and client decode from a peer, after the Noise
//! layer: a message type (the first byte) and a payload (the rest), through the reference
//! implementation's parsers exactly as `server/sv2.rs` and `v2/client.rs` call them (common
//! messages first, then mining ones), for each channel-bit reading.
//!
//! Seeds (`fuzz/seeds/sv2_messages/`): one message of each kind both sides send (setup, its
//! answers, both channel openings and the extended one's answer, a job, `SetNewPrevHash`, both
//! submits and an error, `UpdateChannel`, `CloseChannel`), the type byte and then the payload as
//! the SRI's `binary_sv2` encodes it.
//!
//! Invariant: nothing panics (the release build aborts on a panic, so one would take the pool
//! down).

/// One fuzz input.
pub fn run(data: &[u8]) {
    let Some((&msg_type, payload)) = data.split_first() else {
        return;
    };
    let mut bytes = payload.to_vec();
    if parsers_sv2::CommonMessages::try_from((msg_type, bytes.as_mut_slice())).is_ok() {
        return;
    }
    let mut bytes = payload.to_vec();
    let _ = parsers_sv2::Mining::try_from((msg_type, bytes.as_mut_slice()));
}
