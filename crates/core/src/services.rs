//! The resident services the kiosk offers, and how the home page groups them.

/// A service a resident can start from the home page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceId {
    CardStatus,
    CardActivation,
    PinChange,
    LossReport,
    LossRelease,
    PensionCertification,
    ProxyCertification,
    ProxyBindings,
    EnrollmentQuery,
    ContributionQuery,
    PensionPaymentQuery,
    MedicalAccountQuery,
    ProofPrint,
    ServicePointFinder,
}

/// The home page's groups, in the order they appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceGroup {
    CardServices,
    Certification,
    QueriesAndProofs,
}

impl ServiceId {
    pub const ALL: [ServiceId; 14] = [
        ServiceId::CardStatus,
        ServiceId::CardActivation,
        ServiceId::PinChange,
        ServiceId::LossReport,
        ServiceId::LossRelease,
        ServiceId::PensionCertification,
        ServiceId::ProxyCertification,
        ServiceId::ProxyBindings,
        ServiceId::EnrollmentQuery,
        ServiceId::ContributionQuery,
        ServiceId::PensionPaymentQuery,
        ServiceId::MedicalAccountQuery,
        ServiceId::ProofPrint,
        ServiceId::ServicePointFinder,
    ];

    /// The stable name used for Fluent keys (`service-<key>`), element ids and the CLI.
    pub fn key(self) -> &'static str {
        match self {
            ServiceId::CardStatus => "card-status",
            ServiceId::CardActivation => "card-activation",
            ServiceId::PinChange => "pin-change",
            ServiceId::LossReport => "loss-report",
            ServiceId::LossRelease => "loss-release",
            ServiceId::PensionCertification => "pension-certification",
            ServiceId::ProxyCertification => "proxy-certification",
            ServiceId::ProxyBindings => "proxy-bindings",
            ServiceId::EnrollmentQuery => "enrollment-query",
            ServiceId::ContributionQuery => "contribution-query",
            ServiceId::PensionPaymentQuery => "pension-payment-query",
            ServiceId::MedicalAccountQuery => "medical-account-query",
            ServiceId::ProofPrint => "proof-print",
            ServiceId::ServicePointFinder => "service-point-finder",
        }
    }

    pub fn from_key(key: &str) -> Option<ServiceId> {
        ServiceId::ALL
            .into_iter()
            .find(|service| service.key() == key)
    }

    pub fn group(self) -> ServiceGroup {
        match self {
            ServiceId::CardStatus
            | ServiceId::CardActivation
            | ServiceId::PinChange
            | ServiceId::LossReport
            | ServiceId::LossRelease => ServiceGroup::CardServices,
            ServiceId::PensionCertification
            | ServiceId::ProxyCertification
            | ServiceId::ProxyBindings => ServiceGroup::Certification,
            ServiceId::EnrollmentQuery
            | ServiceId::ContributionQuery
            | ServiceId::PensionPaymentQuery
            | ServiceId::MedicalAccountQuery
            | ServiceId::ProofPrint
            // Beside the proofs, not a group of one: the home page fits one screen.
            | ServiceId::ServicePointFinder => ServiceGroup::QueriesAndProofs,
        }
    }

    /// Services that read the holder's records from the back end and show them as rows.
    pub fn is_query(self) -> bool {
        matches!(
            self,
            ServiceId::CardStatus
                | ServiceId::EnrollmentQuery
                | ServiceId::ContributionQuery
                | ServiceId::PensionPaymentQuery
                | ServiceId::MedicalAccountQuery
        )
    }

    /// Services whose flow is built; the others open a page that says so honestly.
    pub fn is_built(self) -> bool {
        self.is_query()
            || matches!(
                self,
                ServiceId::ServicePointFinder
                    | ServiceId::CardActivation
                    | ServiceId::PinChange
                    | ServiceId::LossReport
                    | ServiceId::LossRelease
                    | ServiceId::PensionCertification
                    | ServiceId::ProxyCertification
                    | ServiceId::ProxyBindings
                    | ServiceId::ProofPrint
            )
    }

    /// Whether the service's tile is shown now: 临时挂失 is for a card that is not at hand,
    /// 解挂 for one that is found again — in the reader, or proven by its holder's ID card on
    /// the ID-card reader. Keeps the normal home page to twelve tiles, on one screen.
    pub fn applies(self, card_in_reader: bool, id_card_on_reader: bool) -> bool {
        match self {
            ServiceId::LossReport => !card_in_reader,
            ServiceId::LossRelease => card_in_reader || id_card_on_reader,
            _ => true,
        }
    }

    /// Rank by how often residents use the service on real terminals (certification and
    /// pension queries first), which orders the elderly-mode home page.
    fn popularity(self) -> u8 {
        match self {
            ServiceId::PensionCertification => 0,
            ServiceId::PensionPaymentQuery => 1,
            ServiceId::ContributionQuery => 2,
            ServiceId::MedicalAccountQuery => 3,
            ServiceId::CardStatus => 4,
            ServiceId::ServicePointFinder => 5,
            ServiceId::ProofPrint => 6,
            ServiceId::ProxyCertification => 7,
            ServiceId::CardActivation => 8,
            ServiceId::LossReport => 9,
            ServiceId::PinChange => 10,
            ServiceId::EnrollmentQuery => 11,
            ServiceId::LossRelease => 12,
            ServiceId::ProxyBindings => 13,
        }
    }
}

impl ServiceGroup {
    pub const ALL: [ServiceGroup; 3] = [
        ServiceGroup::CardServices,
        ServiceGroup::Certification,
        ServiceGroup::QueriesAndProofs,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ServiceGroup::CardServices => "card-services",
            ServiceGroup::Certification => "certification",
            ServiceGroup::QueriesAndProofs => "queries-and-proofs",
        }
    }
}

/// The home page's layout: groups with their services. Elderly mode shows the six most-used
/// services in one group, most-used first, so there are fewer choices on the first screen;
/// "all services" (the normal layout) stays one tap away.
pub fn home_layout(
    elderly: bool,
    applies: impl Fn(ServiceId) -> bool,
) -> Vec<(Option<ServiceGroup>, Vec<ServiceId>)> {
    if elderly {
        let mut services: Vec<ServiceId> = ServiceId::ALL
            .into_iter()
            .filter(|service| applies(*service))
            .collect();
        services.sort_by_key(|service| service.popularity());
        services.truncate(6);
        return vec![(None, services)];
    }
    ServiceGroup::ALL
        .into_iter()
        .map(|group| {
            let services = ServiceId::ALL
                .into_iter()
                .filter(|service| service.group() == group && applies(*service))
                .collect();
            (Some(group), services)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_without_the_card_and_release_with_it_or_the_id_card() {
        let shown = |card, id_card| -> Vec<ServiceId> {
            home_layout(false, |service| service.applies(card, id_card))
                .into_iter()
                .flat_map(|(_, services)| services)
                .filter(|s| matches!(s, ServiceId::LossReport | ServiceId::LossRelease))
                .collect()
        };
        assert_eq!(shown(false, false), [ServiceId::LossReport]);
        assert_eq!(shown(true, false), [ServiceId::LossRelease]);
        assert_eq!(
            shown(false, true),
            [ServiceId::LossReport, ServiceId::LossRelease]
        );
    }

    #[test]
    fn keys_round_trip_and_are_unique() {
        for service in ServiceId::ALL {
            assert_eq!(ServiceId::from_key(service.key()), Some(service));
        }
        let mut keys: Vec<_> = ServiceId::ALL.iter().map(|s| s.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), ServiceId::ALL.len());
    }

    #[test]
    fn the_normal_layout_shows_every_service_once_and_elderly_the_most_used_first() {
        let normal: Vec<ServiceId> = home_layout(false, |_| true)
            .into_iter()
            .flat_map(|(_, s)| s)
            .collect();
        assert_eq!(normal.len(), ServiceId::ALL.len());
        let elderly = home_layout(true, |_| true);
        assert_eq!(elderly.len(), 1);
        assert_eq!(elderly[0].1.len(), 6);
        assert_eq!(elderly[0].1[0], ServiceId::PensionCertification);
    }
}
