//! Arbitrary card answers fed to the whole read flow, the PIN flow and the response parsers:
//! none of them may panic. The input is a sequence of `length byte, response bytes` records.
//! The same bytes also go to the PC/SC part 10 feature list parser (the reader's answer to
//! `CM_IOCTL_GET_FEATURE_REQUEST`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use renshe_card_protocol::protocol::{
    decode_an, decode_bcd_date, decode_cn, decode_gbk, parse_tagged_record, CardSession,
    ResponseApdu, Step, Transmit, TransportError,
};
use renshe_card_protocol::sam::{LocalTestSam, Sam};
use renshe_core::identity::Pin;

struct Replay<'a> {
    rest: &'a [u8],
}

impl Transmit for Replay<'_> {
    fn transmit(&mut self, _command: &[u8]) -> Result<Vec<u8>, TransportError> {
        let (&length, rest) = self.rest.split_first().ok_or(TransportError::CardRemoved)?;
        let length = usize::from(length).min(rest.len());
        let (response, rest) = rest.split_at(length);
        self.rest = rest;
        Ok(response.to_vec())
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = ResponseApdu::parse(data);
    let _ = renshe_card_protocol::part10::parse_features(data);
    let _ = parse_tagged_record(data.first().copied().unwrap_or(0), data, Step::Response);
    let _ = (
        decode_an(data),
        decode_cn(data),
        decode_gbk(data),
        decode_bcd_date(data),
    );

    let mut sam = LocalTestSam::with_test_key();
    let with_sam = data.first().is_some_and(|first| first & 1 == 1);
    let mut session = CardSession::new(Replay { rest: data });
    let _ = session.read_holder(with_sam.then_some(&mut sam as &mut dyn Sam));
    if let Ok(pin) = Pin::new("123456") {
        let _ = session.verify_pin(&pin);
    }
});
