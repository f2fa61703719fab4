//! Demo mode's card tray: virtual cards of the demo residents in vpcd's slot 0 and a virtual
//! PSAM in slot 1, put in and taken out from buttons under the screen. A terminal's build
//! (without the `demo` feature) has the same API with no tray behind it.

#[cfg(not(feature = "demo"))]
pub use none::DemoTray;
#[cfg(feature = "demo")]
pub use real::DemoTray;

#[cfg(feature = "demo")]
mod real {
    use std::sync::Arc;

    use crate::card::sim::{demo_residents, CardProfile, SimRig};
    use crate::config::CardReader;
    use crate::core::identity::{mask_name, Holder};

    pub struct DemoTray {
        rig: Arc<SimRig>,
        residents: Vec<Holder>,
    }

    impl DemoTray {
        /// The tray, when the configured reader is `"sim"`.
        pub fn start(config: &CardReader) -> Option<DemoTray> {
            if config.reader != "sim" {
                return None;
            }
            let residents = demo_residents();
            let profile = residents.first().cloned().map(CardProfile::demo)?;
            let rig = SimRig::start(&profile, config.sam_reader == "sim");
            // The tray starts empty: the resident (or the demo's visitor) inserts a card.
            rig.card.remove();
            Some(DemoTray {
                rig: Arc::new(rig),
                residents,
            })
        }

        /// The tray's buttons: the residents' masked names.
        pub fn labels(&self) -> Vec<String> {
            self.residents.iter().map(|h| mask_name(&h.name)).collect()
        }

        /// Puts resident `index`'s card into the reader (taking out any other first).
        pub fn insert(&self, index: usize) {
            let Some(holder) = self.residents.get(index).cloned() else {
                return;
            };
            let rig = self.rig.clone();
            // A swap waits for pcscd to notice the empty slot; never on the UI thread.
            std::thread::spawn(move || rig.swap_card(&CardProfile::demo(holder)));
        }

        pub fn take_out(&self) {
            self.rig.card.remove();
        }
    }
}

#[cfg(not(feature = "demo"))]
mod none {
    use crate::config::CardReader;

    /// No tray in a terminal's build: it cannot be made.
    pub enum DemoTray {}

    impl DemoTray {
        pub fn start(_config: &CardReader) -> Option<DemoTray> {
            None
        }

        pub fn labels(&self) -> Vec<String> {
            match *self {}
        }

        pub fn insert(&self, _index: usize) {
            match *self {}
        }

        pub fn take_out(&self) {
            match *self {}
        }
    }
}
