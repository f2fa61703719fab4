//! Line icons for the service tiles, as SVG path commands on a 48×48 grid. They live here, not
//! in `.slint` files, because the tiles come from a model built from the core's service list.

use crate::core::ServiceId;

const CARD_CHECK: &str = "M 6 12 L 42 12 L 42 36 L 6 36 Z M 14 24 L 21 31 L 34 18";
const POWER: &str = "M 24 6 L 24 22 M 15 12 A 14 14 0 1 0 33 12";
const KEY: &str = "M 18 30 A 8 8 0 1 1 18.1 30 M 24 26 L 42 10 M 36 16 L 41 21 M 32 20 L 36 24";
const LOCK: &str =
    "M 12 22 L 36 22 L 36 42 L 12 42 Z M 17 22 L 17 15 A 7 7 0 0 1 31 15 L 31 22 M 24 30 L 24 35";
const UNLOCK: &str =
    "M 12 22 L 36 22 L 36 42 L 12 42 Z M 17 22 L 17 15 A 7 7 0 0 1 31 12 M 24 30 L 24 35";
const FACE_CHECK: &str =
    "M 24 8 A 10 10 0 1 1 23.9 8 M 8 42 A 16 12 0 0 1 32 32 M 30 38 L 35 43 L 44 32";
const TWO_PEOPLE: &str = "M 16 10 A 7 7 0 1 1 15.9 10 M 4 40 A 12 10 0 0 1 28 40 M 33 14 A 6 6 0 1 1 32.9 14 M 30 26 A 11 9 0 0 1 44 36";
const PERSON_PLUS: &str =
    "M 18 10 A 8 8 0 1 1 17.9 10 M 4 42 A 14 11 0 0 1 32 42 M 39 16 L 39 32 M 31 24 L 47 24";
const LIST: &str =
    "M 10 8 L 38 8 L 38 42 L 10 42 Z M 16 16 L 32 16 M 16 24 L 32 24 M 16 32 L 26 32";
const COINS: &str = "M 24 6 A 16 16 0 1 1 23.9 6 M 24 14 L 24 34 M 18 18 L 30 18 M 18 26 L 30 26";
const CROSS: &str = "M 8 10 L 40 10 L 40 40 L 8 40 Z M 24 16 L 24 34 M 15 25 L 33 25";
const PRINTER: &str = "M 14 6 L 34 6 L 34 18 M 14 18 L 14 6 M 6 18 L 42 18 L 42 34 L 6 34 Z M 14 28 L 34 28 L 34 44 L 14 44 Z";
const PIN: &str = "M 24 44 L 12 26 A 14 14 0 1 1 36 26 Z M 24 14 A 5 5 0 1 1 23.9 14";
const SHIELD: &str = "M 24 4 L 40 10 L 40 24 A 18 20 0 0 1 24 44 A 18 20 0 0 1 8 24 L 8 10 Z M 16 24 L 22 30 L 33 18";

pub fn for_service(service: ServiceId) -> &'static str {
    match service {
        ServiceId::CardStatus => CARD_CHECK,
        ServiceId::CardActivation => POWER,
        ServiceId::PinChange => KEY,
        ServiceId::LossReport => LOCK,
        ServiceId::LossRelease => UNLOCK,
        ServiceId::PensionCertification => FACE_CHECK,
        ServiceId::ProxyCertification => TWO_PEOPLE,
        ServiceId::ProxyBindings => PERSON_PLUS,
        ServiceId::EnrollmentQuery => SHIELD,
        ServiceId::ContributionQuery => LIST,
        ServiceId::PensionPaymentQuery => COINS,
        ServiceId::MedicalAccountQuery => CROSS,
        ServiceId::ProofPrint => PRINTER,
        ServiceId::ServicePointFinder => PIN,
    }
}
