//! Virtual cards behind a real PC/SC stack: a social security card and a PSAM that speak the
//! vsmartcard `vpcd` protocol to pcscd's virtual reader, so tests and demo mode exercise the real
//! reader service, pcscd included.
//!
//! vpcd listens on 127.0.0.1:35963 (reader "Virtual PCD 00 00") and 35964 ("Virtual PCD 00 01").
//! A connected client is an inserted card; closing the connection removes it.

pub mod card;
pub mod psam;
mod vpcd;

pub use card::{CardProfile, VirtualCard, PIN_TRIES};
pub use psam::VirtualPsam;
pub use vpcd::SimSlot;

use crate::card::sam::TEST_RKSSSE_MASTER_KEY;
use crate::core::identity::{CardDate, CardGeneration, Gender, Holder, IdNumber, Pin};

/// vpcd's TCP port for slot 0, the user card.
pub const CARD_SLOT_PORT: u16 = 35963;
/// vpcd's TCP port for slot 1, the PSAM.
pub const PSAM_SLOT_PORT: u16 = 35964;
pub use crate::card::pcsc::{SIM_CARD_READER, SIM_PSAM_READER};
/// How long a swapped card stays out of the slot (longer than pcscd's 400 ms presence poll).
pub const CARD_SWAP_PAUSE: std::time::Duration = std::time::Duration::from_millis(600);
/// Every demo card's PIN (欧阳娜娜's new card still has it as its issuing PIN).
pub const DEMO_PIN: &str = "123456";
/// The demo card that is newly issued and not activated yet (欧阳娜娜's): for 社保功能启用.
pub const NOT_ACTIVATED_CARD: &str = "C00024680";

/// Something that answers APDUs like a card does.
pub trait ApduResponder: Send {
    fn atr(&self) -> Vec<u8>;
    /// Power-on or reset: forget selection and authentication (PIN counters survive, as on a real card).
    fn reset(&mut self);
    fn respond(&mut self, apdu: &[u8]) -> Vec<u8>;
}

fn demo_holder(
    name: &str,
    id_body: &str,
    gender: Gender,
    card_number: &str,
    generation: CardGeneration,
) -> Option<Holder> {
    let id_number = IdNumber::from_body(id_body).ok()?;
    let birth_date = CardDate::from_digits(&id_body[6..14]);
    Some(Holder {
        name: name.to_owned(),
        card_number: card_number.to_owned(),
        gender,
        birth_date,
        nationality: 1,
        birthplace: id_body[..6].to_owned(),
        issue_date: CardDate::new(2021, 5, 10),
        expiry_date: CardDate::new(2031, 5, 10),
        generation,
        region_code: "500100".to_owned(),
        id_number,
    })
}

/// Demo residents of Chongqing with valid ID check characters: 3rd- and 2nd-generation cards,
/// a two-character name and a four-character one.
pub fn demo_residents() -> Vec<Holder> {
    [
        demo_holder(
            "张晓芳",
            "50010319900307122",
            Gender::Female,
            "A00012345",
            CardGeneration::Third,
        ),
        demo_holder(
            "李明",
            "50010619851121135",
            Gender::Male,
            "B00067890",
            CardGeneration::Second,
        ),
        demo_holder(
            "欧阳娜娜",
            "50011220010615064",
            Gender::Female,
            "C00024680",
            CardGeneration::Third,
        ),
        demo_holder(
            "王建国",
            "50010119580130017",
            Gender::Male,
            "D00013579",
            CardGeneration::Second,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

impl CardProfile {
    /// A card for `holder` with the demo PIN and the test RKSSSE key.
    pub fn demo(holder: Holder) -> CardProfile {
        CardProfile {
            holder,
            pin: Pin::new(DEMO_PIN).unwrap_or_else(|_| unreachable!("the demo PIN is six digits")),
            rksse_master_key: TEST_RKSSSE_MASTER_KEY,
            ssse_select_fails: false,
        }
    }
}

/// A user card in slot 0 and, optionally, a PSAM in slot 1.
pub struct SimRig {
    pub card: SimSlot,
    pub psam: Option<SimSlot>,
}

impl SimRig {
    /// Starts the slots; the card is inserted, the PSAM (if any) is always in.
    pub fn start(profile: &CardProfile, with_psam: bool) -> SimRig {
        let psam = with_psam.then(|| {
            SimSlot::start(
                PSAM_SLOT_PORT,
                Box::new(VirtualPsam::new(profile.rksse_master_key)),
                true,
            )
        });
        let card = SimSlot::start(CARD_SLOT_PORT, Box::new(VirtualCard::new(profile)), true);
        SimRig { card, psam }
    }

    /// The demo tray: take the card out, put another resident's card in.
    ///
    /// Waits [`CARD_SWAP_PAUSE`] with the slot empty: pcscd polls vpcd's presence every 400 ms,
    /// and a card that reconnects before the poll would be taken for the old one still sitting there.
    pub fn swap_card(&self, profile: &CardProfile) {
        self.card.remove();
        self.card.replace_card(Box::new(VirtualCard::new(profile)));
        std::thread::sleep(CARD_SWAP_PAUSE);
        self.card.insert();
    }
}

/// A virtual card or PSAM answering in memory, without pcscd: for unit tests, fuzzing and benches.
pub struct InMemoryCard<R: ApduResponder>(pub R);

impl<R: ApduResponder> crate::card::protocol::Transmit for InMemoryCard<R> {
    fn transmit(
        &mut self,
        command: &[u8],
    ) -> Result<Vec<u8>, crate::card::protocol::TransportError> {
        Ok(self.0.respond(command))
    }
}
