//! A resident's records as the back end answers them, typed, and how they are laid out for
//! the screen and paper: summary lines, a table, amounts in yuan. The shell turns the back
//! end's replies into [`Records`]; everything after that is decided here.

use crate::Date;

/// One answer of the back end to a records query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Records {
    /// The card's state, with the holder masked.
    CardStatus {
        masked_name: String,
        masked_card_number: String,
        state: CardState,
    },
    Enrollment(Vec<Insurance>),
    /// Every month paid, oldest first.
    Contributions(Vec<ContributionMonth>),
    /// Every payment received, oldest first.
    PensionPayments(Vec<PensionPayment>),
    MedicalAccount(MedicalAccount),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardState {
    Active,
    NotActivated,
    TemporarilyLost,
    Blocked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InsuranceKind {
    Pension,
    Medical,
    Unemployment,
    WorkInjury,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InsuranceStatus {
    Paying,
    Receiving,
    Suspended,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insurance {
    pub kind: InsuranceKind,
    pub status: InsuranceStatus,
    /// When it began, as the back end writes it (`YYYY-MM`).
    pub since: String,
}

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    pub year: i32,
    pub month: u8,
}

impl YearMonth {
    /// Reads `YYYY-MM`; `None` for anything else.
    pub fn parse(text: &str) -> Option<YearMonth> {
        let (year, month) = text.split_once('-')?;
        let year: i32 = year.parse().ok()?;
        let month: u8 = month.parse().ok()?;
        (year > 0 && (1..=12).contains(&month)).then_some(YearMonth { year, month })
    }
}

impl std::fmt::Display for YearMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributionMonth {
    pub month: YearMonth,
    pub base_fen: u64,
    pub personal_fen: u64,
    pub employer_fen: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PensionPayment {
    pub month: YearMonth,
    pub amount_fen: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicalAccount {
    pub balance_fen: i64,
    pub year_in_fen: u64,
    pub year_out_fen: u64,
    /// The most recent spending, newest first.
    pub recent: Vec<MedicalSpending>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicalSpending {
    /// `YYYY-MM-DD`, as the back end writes it.
    pub date: String,
    /// The hospital or pharmacy (an institution, not a person).
    pub place: String,
    pub amount_fen: u64,
}

/// A piece of text on a records page: data, followed by a Fluent key's text (a unit such as
/// "元", or a state such as "paying"). Either part may be empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cell {
    pub text: String,
    pub key: &'static str,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            key: "",
        }
    }

    pub fn key(key: &'static str) -> Cell {
        Cell {
            text: String::new(),
            key,
        }
    }

    pub fn yuan(fen: i64) -> Cell {
        Cell {
            text: yuan(fen),
            key: "unit-yuan",
        }
    }
}

/// A summary line above the table: a Fluent label and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryLine {
    pub label_key: &'static str,
    pub value: Cell,
}

/// What one year (or the whole answer, for records without years) shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layout {
    pub summary: Vec<SummaryLine>,
    /// The table's column headings, as Fluent keys; empty when there is no table.
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

/// Fen as yuan with two decimals: 81240 → "812.40".
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        fen.unsigned_abs() / 100,
        fen.unsigned_abs() % 100
    )
}

impl Records {
    /// Whether the answer is read year by year (a year chooser above the table).
    pub fn has_years(&self) -> bool {
        matches!(
            self,
            Records::Contributions(_) | Records::PensionPayments(_)
        )
    }

    /// The years a resident can choose, newest first: from the first year on record to
    /// this year, so the current year always comes first even before its first payment.
    pub fn years(&self, today: Date) -> Vec<i32> {
        let first = match self {
            Records::Contributions(months) => months.iter().map(|m| m.month.year).min(),
            Records::PensionPayments(payments) => payments.iter().map(|p| p.month.year).min(),
            _ => return Vec::new(),
        };
        let first = first.unwrap_or(today.year).min(today.year);
        (first..=today.year).rev().collect()
    }

    /// The page content for `year` (ignored for records without years).
    pub fn layout(&self, year: i32, today: Date) -> Layout {
        match self {
            Records::CardStatus {
                masked_name,
                masked_card_number,
                state,
            } => Layout {
                summary: vec![
                    SummaryLine {
                        label_key: "row-name",
                        value: Cell::text(masked_name.clone()),
                    },
                    SummaryLine {
                        label_key: "row-card-number",
                        value: Cell::text(masked_card_number.clone()),
                    },
                    SummaryLine {
                        label_key: "row-card-state",
                        value: Cell::key(card_state_key(*state)),
                    },
                ],
                ..Layout::default()
            },
            Records::Enrollment(insurances) => Layout {
                summary: Vec::new(),
                columns: vec!["column-insurance", "column-status", "column-since"],
                rows: insurances
                    .iter()
                    .map(|insurance| {
                        vec![
                            Cell::key(insurance_kind_key(insurance.kind)),
                            Cell::key(insurance_status_key(insurance.status)),
                            Cell::text(insurance.since.clone()),
                        ]
                    })
                    .collect(),
            },
            Records::Contributions(months) => contributions_layout(months, year, today),
            Records::PensionPayments(payments) => {
                let of_year: Vec<&PensionPayment> =
                    payments.iter().filter(|p| p.month.year == year).collect();
                let total: u64 = of_year.iter().map(|p| p.amount_fen).sum();
                Layout {
                    summary: vec![
                        SummaryLine {
                            label_key: "row-payments-this-year",
                            value: Cell::text(of_year.len().to_string()),
                        },
                        SummaryLine {
                            label_key: "row-total-this-year",
                            value: Cell::yuan(total as i64),
                        },
                    ],
                    columns: vec!["column-month", "column-amount"],
                    rows: of_year
                        .iter()
                        .rev()
                        .map(|p| {
                            vec![
                                Cell::text(p.month.to_string()),
                                // The column's heading carries the unit.
                                Cell::text(yuan(p.amount_fen as i64)),
                            ]
                        })
                        .collect(),
                }
            }
            Records::MedicalAccount(account) => Layout {
                summary: vec![
                    SummaryLine {
                        label_key: "row-balance",
                        value: Cell::yuan(account.balance_fen),
                    },
                    SummaryLine {
                        label_key: "row-year-in",
                        value: Cell::yuan(account.year_in_fen as i64),
                    },
                    SummaryLine {
                        label_key: "row-year-out",
                        value: Cell::yuan(account.year_out_fen as i64),
                    },
                ],
                columns: vec!["column-date", "column-place", "column-amount"],
                rows: account
                    .recent
                    .iter()
                    .map(|item| {
                        vec![
                            Cell::text(item.date.clone()),
                            Cell::text(item.place.clone()),
                            Cell::text(yuan(item.amount_fen as i64)),
                        ]
                    })
                    .collect(),
            },
        }
    }
}

/// A year's month grid: every month up to this one (for the current year), paid or not.
fn contributions_layout(months: &[ContributionMonth], year: i32, today: Date) -> Layout {
    let last_month = if year == today.year { today.month } else { 12 };
    let mut rows = Vec::new();
    for month in (1..=last_month).rev() {
        let at = YearMonth { year, month };
        // Several records for one month (two insurances) add up.
        let records: Vec<&ContributionMonth> = months.iter().filter(|m| m.month == at).collect();
        if records.is_empty() {
            // This month's contribution is usually collected at its end: not "unpaid" yet.
            let this_month = year == today.year && month == today.month;
            rows.push(vec![
                Cell::text(at.to_string()),
                Cell::key(if this_month {
                    "contribution-due"
                } else {
                    "contribution-unpaid"
                }),
                Cell::default(),
                Cell::default(),
                Cell::default(),
            ]);
        } else {
            let base = records.iter().map(|m| m.base_fen).max().unwrap_or(0);
            let personal: u64 = records.iter().map(|m| m.personal_fen).sum();
            let employer: u64 = records.iter().map(|m| m.employer_fen).sum();
            rows.push(vec![
                Cell::text(at.to_string()),
                Cell::key("contribution-paid"),
                Cell::text(yuan(base as i64)),
                Cell::text(yuan(personal as i64)),
                Cell::text(yuan(employer as i64)),
            ]);
        }
    }
    let mut distinct: Vec<YearMonth> = months.iter().map(|m| m.month).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let paid_months_in_year = {
        let mut of_year: Vec<YearMonth> = months
            .iter()
            .filter(|m| m.month.year == year)
            .map(|m| m.month)
            .collect();
        of_year.sort_unstable();
        of_year.dedup();
        of_year.len()
    };
    Layout {
        summary: vec![
            SummaryLine {
                label_key: "row-months-paid",
                value: Cell::text(distinct.len().to_string()),
            },
            SummaryLine {
                label_key: "row-months-paid-this-year",
                value: Cell::text(paid_months_in_year.to_string()),
            },
        ],
        columns: vec![
            "column-month",
            "column-paid",
            "column-base",
            "column-personal",
            "column-employer",
        ],
        rows,
    }
}

pub fn card_state_key(state: CardState) -> &'static str {
    match state {
        CardState::Active => "card-state-active",
        CardState::NotActivated => "card-state-not-activated",
        CardState::TemporarilyLost => "card-state-temporarily-lost",
        CardState::Blocked => "card-state-blocked",
    }
}

pub fn insurance_kind_key(kind: InsuranceKind) -> &'static str {
    match kind {
        InsuranceKind::Pension => "insurance-pension",
        InsuranceKind::Medical => "insurance-medical",
        InsuranceKind::Unemployment => "insurance-unemployment",
        InsuranceKind::WorkInjury => "insurance-work-injury",
        InsuranceKind::Other => "insurance-other",
    }
}

pub fn insurance_status_key(status: InsuranceStatus) -> &'static str {
    match status {
        InsuranceStatus::Paying => "insurance-status-paying",
        InsuranceStatus::Receiving => "insurance-status-receiving",
        InsuranceStatus::Suspended => "insurance-status-suspended",
        InsuranceStatus::Other => "insurance-status-other",
    }
}

/// Every Fluent key a records page can show, for the locale completeness test.
pub const KEYS: &[&str] = &[
    "row-name",
    "row-card-number",
    "row-card-state",
    "row-months-paid",
    "row-months-paid-this-year",
    "row-payments-this-year",
    "row-total-this-year",
    "row-balance",
    "row-year-in",
    "row-year-out",
    "column-insurance",
    "column-status",
    "column-since",
    "column-month",
    "column-paid",
    "column-base",
    "column-personal",
    "column-employer",
    "column-amount",
    "column-date",
    "column-place",
    "contribution-paid",
    "contribution-unpaid",
    "contribution-due",
    "unit-yuan",
    "card-state-active",
    "card-state-not-activated",
    "card-state-temporarily-lost",
    "card-state-blocked",
    "insurance-pension",
    "insurance-medical",
    "insurance-unemployment",
    "insurance-work-injury",
    "insurance-other",
    "insurance-status-paying",
    "insurance-status-receiving",
    "insurance-status-suspended",
    "insurance-status-other",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        Date {
            year: 2027,
            month: 3,
            day: 15,
        }
    }

    fn month(year: i32, month: u8) -> ContributionMonth {
        ContributionMonth {
            month: YearMonth { year, month },
            base_fen: 500_000,
            personal_fen: 40_000,
            employer_fen: 80_000,
        }
    }

    #[test]
    fn amounts_are_yuan_with_two_decimals() {
        assert_eq!(yuan(81240), "812.40");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(-1234), "-12.34");
    }

    #[test]
    fn months_parse_strictly() {
        assert_eq!(
            YearMonth::parse("2026-07"),
            Some(YearMonth {
                year: 2026,
                month: 7
            })
        );
        for bad in ["2026-13", "2026-00", "2026", "x-01", "-1-01", ""] {
            assert_eq!(YearMonth::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_current_year_comes_first_even_before_its_first_payment() {
        let records = Records::Contributions(vec![month(2024, 5), month(2026, 12)]);
        assert_eq!(records.years(today()), vec![2027, 2026, 2025, 2024]);
        assert!(Records::Enrollment(Vec::new()).years(today()).is_empty());
    }

    #[test]
    fn a_year_of_contributions_is_a_month_grid_up_to_this_month() {
        let records = Records::Contributions(vec![month(2026, 12), month(2027, 1), month(2027, 3)]);
        let layout = records.layout(2027, today());
        assert_eq!(layout.rows.len(), 3, "January to March");
        assert_eq!(layout.rows[0][0].text, "2027-03");
        assert_eq!(layout.rows[0][1].key, "contribution-paid");
        assert_eq!(layout.rows[1][1].key, "contribution-unpaid");
        assert_eq!(layout.rows[2][3].text, "400.00");
        assert_eq!(layout.summary[0].value.text, "3", "months paid in all");
        assert_eq!(layout.summary[1].value.text, "2", "months paid this year");
        assert_eq!(records.layout(2026, today()).rows.len(), 12);
        let unpaid_now = Records::Contributions(vec![month(2027, 1)]).layout(2027, today());
        assert_eq!(
            unpaid_now.rows[0][1].key, "contribution-due",
            "this month is not over"
        );
        assert_eq!(unpaid_now.rows[1][1].key, "contribution-unpaid");
    }
}
