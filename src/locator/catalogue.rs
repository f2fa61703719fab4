//! The catalogue of 人社 service points: the point record, the service-item catalogue and a
//! deterministic generator of a realistic synthetic catalogue (the article's 13,357 points).
//!
//! The generator uses its own SplitMix64 so the catalogue never changes with a crate update:
//! tests, benchmarks and demo screenshots all see the same points for the same seed.

use serde::{Deserialize, Serialize};

/// The five tiers of the 15+5 circle, from the article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// 市级
    City,
    /// 区县级
    District,
    /// 镇街级
    Town,
    /// 村社区级
    Village,
    /// 合作服务点 (社银 / 社邮 / 社医)
    Partner,
}

impl Tier {
    pub const ALL: [Tier; 5] = [
        Tier::City,
        Tier::District,
        Tier::Town,
        Tier::Village,
        Tier::Partner,
    ];

    pub fn name_zh(self) -> &'static str {
        match self {
            Tier::City => "市级",
            Tier::District => "区县级",
            Tier::Town => "镇街级",
            Tier::Village => "村社区级",
            Tier::Partner => "合作服务点",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Tier::City => "city",
            Tier::District => "district",
            Tier::Town => "town",
            Tier::Village => "village",
            Tier::Partner => "partner",
        }
    }

    /// Parses the English key (`town`) or the Chinese name (`镇街级`).
    pub fn parse(text: &str) -> Option<Tier> {
        let text = text.trim();
        Tier::ALL
            .into_iter()
            .find(|tier| tier.name_en().eq_ignore_ascii_case(text) || tier.name_zh() == text)
    }
}

/// The kind of institution hosting a partner point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerKind {
    /// 社银: a bank branch.
    Bank,
    /// 社邮: a post office.
    PostOffice,
    /// 社医: a hospital or clinic.
    Hospital,
}

/// Whether a point lies in town (the 15-minute walk applies) or in the countryside (5 km).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    #[default]
    Urban,
    Rural,
}

impl Area {
    /// The 15+5 rule: a 15-minute walk (about 1.2 km) in town, 5 km in the countryside.
    pub fn reach_m(self) -> f64 {
        match self {
            Area::Urban => 1_200.0,
            Area::Rural => 5_000.0,
        }
    }
}

/// One opening interval on one weekday, in minutes since local midnight (`close` exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyInterval {
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u8,
    pub open: u16,
    pub close: u16,
}

impl WeeklyInterval {
    /// Whether `now` falls in this interval.
    pub fn contains(&self, now: LocalTime) -> bool {
        self.weekday == now.weekday && self.open <= now.minute && now.minute < self.close
    }
}

/// Local weekday and minute, passed in by the caller (the locator never reads the clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalTime {
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u8,
    /// Minutes since midnight, 0..1440.
    pub minute: u16,
}

/// When a point is open: a 24-hour self-service zone, or weekly intervals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OpeningHours {
    /// Open around the clock (24-hour self-service zone).
    #[serde(default)]
    pub always_open: bool,
    #[serde(default)]
    pub weekly: Vec<WeeklyInterval>,
}

impl OpeningHours {
    pub fn is_open_at(&self, now: LocalTime) -> bool {
        self.always_open || self.weekly.iter().any(|interval| interval.contains(now))
    }

    fn office(days: std::ops::RangeInclusive<u8>, spans: &[(u16, u16)]) -> OpeningHours {
        let weekly = days
            .flat_map(|weekday| {
                spans.iter().map(move |&(open, close)| WeeklyInterval {
                    weekday,
                    open,
                    close,
                })
            })
            .collect();
        OpeningHours {
            always_open: false,
            weekly,
        }
    }

    /// A short human summary, e.g. "周一至周五 09:00-12:00, 14:00-17:30" is left to the UI;
    /// this gives a language-neutral "Mon-Fri 09:00-12:00 14:00-17:30" style line per day group.
    /// The week as runs of consecutive days that keep the same hours: (first day, last day,
    /// "09:00-12:00 14:00-17:30"), days 0 = Monday … 6 = Sunday. Days closed are left out.
    pub fn day_groups(&self) -> Vec<(u8, u8, String)> {
        let mut groups: Vec<(u8, u8, String)> = Vec::new();
        for day in 0..7u8 {
            let spans: Vec<String> = self
                .weekly
                .iter()
                .filter(|interval| interval.weekday == day)
                .map(|interval| format!("{}-{}", hhmm(interval.open), hhmm(interval.close)))
                .collect();
            if spans.is_empty() {
                continue;
            }
            let spans = spans.join(" ");
            match groups.last_mut() {
                Some((_, last, text)) if *text == spans && *last + 1 == day => *last = day,
                _ => groups.push((day, day, spans)),
            }
        }
        groups
    }

    /// The hours in short English, for logs and the technicians' `locate`.
    pub fn summary(&self) -> String {
        if self.always_open {
            return "24h".to_string();
        }
        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        self.day_groups()
            .iter()
            .map(|(first, last, spans)| {
                let name = |day: &u8| DAYS[usize::from(*day).min(6)];
                if first == last {
                    format!("{} {spans}", name(first))
                } else {
                    format!("{}-{} {spans}", name(first), name(last))
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn hhmm(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// A service item code from [`SERVICE_ITEMS`].
pub type ServiceCode = u16;

/// One 人社 service item a point can handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceItem {
    pub code: ServiceCode,
    pub name_zh: &'static str,
    pub name_en: &'static str,
}

const fn item(code: ServiceCode, name_zh: &'static str, name_en: &'static str) -> ServiceItem {
    ServiceItem {
        code,
        name_zh,
        name_en,
    }
}

/// The service-item catalogue. Codes are stable (they are stored and sent by the back end)
/// and stay below 64 so the index can keep a point's items in one `u64`.
pub const SERVICE_ITEMS: &[ServiceItem] = &[
    item(
        1,
        "养老保险待遇资格认证",
        "Pension eligibility certification",
    ),
    item(2, "第三代社保卡激活", "3rd-generation card activation"),
    item(3, "社保卡补换", "Card replacement"),
    item(4, "社保卡挂失", "Card loss report"),
    item(5, "社保卡解挂", "Card loss cancellation"),
    item(6, "社保卡密码修改", "Card PIN change"),
    item(7, "社保卡密码重置", "Card PIN reset"),
    item(8, "社保卡信息变更", "Card details update"),
    item(9, "社保卡申领", "Card application"),
    item(10, "城乡居民养老保险参保登记", "Resident pension enrolment"),
    item(11, "城乡居民养老保险缴费", "Resident pension contribution"),
    item(12, "养老保险个人权益记录查询", "Pension record query"),
    item(13, "养老金发放查询", "Pension payment query"),
    item(14, "个人参保证明打印", "Insurance certificate printing"),
    item(15, "社保缴费记录查询", "Contribution record query"),
    item(16, "医保个人账户查询", "Medical insurance account query"),
    item(
        17,
        "医保电子凭证激活",
        "Medical insurance e-voucher activation",
    ),
    item(18, "失业保险金申领", "Unemployment benefit claim"),
    item(19, "就业登记", "Employment registration"),
    item(20, "失业登记", "Unemployment registration"),
    item(21, "就业创业证申领", "Employment certificate application"),
    item(22, "职业介绍", "Job referral"),
    item(23, "职业技能培训报名", "Vocational training enrolment"),
    item(24, "灵活就业人员参保登记", "Flexible-employment enrolment"),
    item(25, "灵活就业人员缴费", "Flexible-employment contribution"),
    item(26, "社保卡邮寄", "Card delivery by post"),
    item(27, "工伤保险待遇申请", "Work-injury benefit claim"),
    item(28, "生育保险待遇申请", "Maternity benefit claim"),
    item(29, "养老保险关系转移", "Pension transfer"),
    item(30, "退休申请", "Retirement application"),
    item(31, "劳动保障监察投诉", "Labour inspection complaint"),
    item(32, "劳动人事争议调解", "Labour dispute mediation"),
    item(33, "人才引进服务", "Talent introduction"),
    item(34, "职称评审申报", "Professional title application"),
    item(35, "高校毕业生就业服务", "Graduate employment services"),
    item(36, "农民工服务", "Migrant worker services"),
    item(37, "医保异地就医备案", "Out-of-town medical care filing"),
    item(
        38,
        "门诊特殊疾病申请",
        "Outpatient special disease application",
    ),
];

/// The 25 high-frequency, low-risk items a bank partner point (社银) handles.
pub const BANK_ITEMS: [ServiceCode; 25] = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25, 29, 36,
];
/// The 26 items of a post-office partner point (社邮): the bank's 25 plus card delivery.
pub const POST_OFFICE_ITEMS: [ServiceCode; 26] = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25, 26, 29, 36,
];
/// Items of a hospital partner point (社医): card and medical-insurance matters.
pub const HOSPITAL_ITEMS: [ServiceCode; 11] = [1, 2, 3, 4, 12, 14, 15, 16, 17, 37, 38];

/// Looks an item up by code.
pub fn service_item(code: ServiceCode) -> Option<&'static ServiceItem> {
    SERVICE_ITEMS.iter().find(|item| item.code == code)
}

/// Resolves what a user typed for a service: a code ("3"), the Chinese name or an English name
/// (case-insensitive); a unique substring of a name also works ("补换").
pub fn find_service(text: &str) -> Option<ServiceCode> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(code) = text.parse::<ServiceCode>() {
        return service_item(code).map(|item| item.code);
    }
    let lower = text.to_lowercase();
    if let Some(item) = SERVICE_ITEMS
        .iter()
        .find(|item| item.name_zh == text || item.name_en.to_lowercase() == lower)
    {
        return Some(item.code);
    }
    let mut matches = SERVICE_ITEMS
        .iter()
        .filter(|item| item.name_zh.contains(text) || item.name_en.to_lowercase().contains(&lower));
    match (matches.next(), matches.next()) {
        (Some(only), None) => Some(only.code),
        _ => None,
    }
}

/// One service point, in the one format the article asks for (photo, address, items, hours, phone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServicePoint {
    pub id: u32,
    pub name: String,
    pub tier: Tier,
    /// Set for partner points only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_kind: Option<PartnerKind>,
    pub district: String,
    pub address: String,
    /// WGS-84 degrees.
    pub lat: f64,
    pub lon: f64,
    /// In town (15-minute walk) or in the countryside (5 km).
    pub area: Area,
    pub hours: OpeningHours,
    pub phone: String,
    /// A reference to the point's photo (a path under the catalogue's photo store).
    pub photo: String,
    /// Codes from [`SERVICE_ITEMS`].
    pub services: Vec<ServiceCode>,
}

impl ServicePoint {
    pub fn offers(&self, code: ServiceCode) -> bool {
        self.services.contains(&code)
    }
}

/// Why catalogue data from outside could not be accepted.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("catalogue JSON is malformed: {0}")]
    Json(#[from] serde_json::Error),
    #[error("service point {id}: coordinates ({lat}, {lon}) are not valid WGS-84 degrees")]
    BadCoordinates { id: u32, lat: f64, lon: f64 },
    #[error("service point {id}: unknown service item code {code}")]
    UnknownService { id: u32, code: ServiceCode },
    #[error("service point {id}: opening interval {open}-{close} on weekday {weekday} is not within one day")]
    BadHours {
        id: u32,
        weekday: u8,
        open: u16,
        close: u16,
    },
    #[error("service point id {0} appears twice")]
    DuplicateId(u32),
}

/// Checks one point's fields beyond what the JSON shape enforces.
pub fn validate_point(point: &ServicePoint) -> Result<(), CatalogueError> {
    let coordinates_ok = point.lat.is_finite()
        && point.lon.is_finite()
        && (-90.0..=90.0).contains(&point.lat)
        && (-180.0..=180.0).contains(&point.lon);
    if !coordinates_ok {
        return Err(CatalogueError::BadCoordinates {
            id: point.id,
            lat: point.lat,
            lon: point.lon,
        });
    }
    if let Some(&code) = point
        .services
        .iter()
        .find(|&&code| service_item(code).is_none())
    {
        return Err(CatalogueError::UnknownService { id: point.id, code });
    }
    if let Some(bad) = point
        .hours
        .weekly
        .iter()
        .find(|i| i.weekday > 6 || i.open >= i.close || i.close > 1440)
    {
        return Err(CatalogueError::BadHours {
            id: point.id,
            weekday: bad.weekday,
            open: bad.open,
            close: bad.close,
        });
    }
    Ok(())
}

/// Parses and validates a catalogue (a JSON array of points) received from outside.
pub fn catalogue_from_json(bytes: &[u8]) -> Result<Vec<ServicePoint>, CatalogueError> {
    let points: Vec<ServicePoint> = serde_json::from_slice(bytes)?;
    let mut seen = std::collections::HashSet::with_capacity(points.len());
    for point in &points {
        validate_point(point)?;
        if !seen.insert(point.id) {
            return Err(CatalogueError::DuplicateId(point.id));
        }
    }
    Ok(points)
}

/// Serializes a catalogue as the JSON array [`catalogue_from_json`] reads.
pub fn catalogue_to_json(points: &[ServicePoint]) -> String {
    // Serializing plain data with string keys cannot fail.
    serde_json::to_string(points).unwrap_or_else(|_| "[]".to_string())
}

/// An incremental catalogue update from the back end: apply to a copy at `from_version`
/// to bring it to `to_version`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogueUpdate {
    pub from_version: u64,
    pub to_version: u64,
    /// New or changed points (matched by id).
    #[serde(default)]
    pub upserts: Vec<ServicePoint>,
    /// Ids of removed points.
    #[serde(default)]
    pub deletions: Vec<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    #[error("update goes from version {from} to {to}, not forwards")]
    NotForwards { from: u64, to: u64 },
}

/// Parses and validates an incremental update received from outside.
pub fn update_from_json(bytes: &[u8]) -> Result<CatalogueUpdate, UpdateError> {
    let update: CatalogueUpdate = serde_json::from_slice(bytes).map_err(CatalogueError::from)?;
    validate_update(&update)?;
    Ok(update)
}

/// Checks an update's points and versions.
pub fn validate_update(update: &CatalogueUpdate) -> Result<(), UpdateError> {
    if update.to_version <= update.from_version {
        return Err(UpdateError::NotForwards {
            from: update.from_version,
            to: update.to_version,
        });
    }
    let mut seen = std::collections::HashSet::new();
    for point in &update.upserts {
        validate_point(point)?;
        if !seen.insert(point.id) {
            return Err(CatalogueError::DuplicateId(point.id).into());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Districts

/// A district or county seat: the core's table of the 38 districts and counties.
pub use crate::core::districts::District as DistrictSeat;

/// Chongqing's 38 districts and counties (one table for the whole program).
pub fn district_seats() -> Vec<DistrictSeat> {
    crate::core::districts::all()
}

// ---------------------------------------------------------------------------------------------
// Generator

/// The article's tier counts: 4 / 172 / 1,176 / 9,621 / 2,384 = 13,357.
pub const TIER_COUNTS: [(Tier, usize); 5] = [
    (Tier::City, 4),
    (Tier::District, 172),
    (Tier::Town, 1_176),
    (Tier::Village, 9_621),
    (Tier::Partner, 2_384),
];
pub const CHONGQING_POINTS: usize = 13_357;
/// The seed of the demo catalogue.
pub const DEFAULT_SEED: u64 = 0x1505_2023;

/// SplitMix64: tiny, fast, and fixed forever (unlike a crate's PRNG across versions).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const PLACE_FIRST: &[char] = &[
    '龙', '石', '青', '白', '金', '马', '凤', '黄', '双', '新', '高', '天', '太', '永', '安', '三',
    '观', '铁', '兴', '华', '玉', '清', '丰', '宝', '云', '花', '桃', '柏', '松', '桂', '梅', '福',
    '回', '东', '南', '西', '北', '中', '河', '溪', '水', '山', '鹿', '鹤', '仙', '狮', '平', '和',
    '红', '紫', '翠', '碧', '银', '柳', '杨', '李', '谭', '罗', '万', '沙', '古', '复', '盐', '茶',
];
const PLACE_SECOND: &[char] = &[
    '桥', '坪', '溪', '坝', '湾', '口', '场', '河', '山', '岩', '滩', '沟', '塘', '林', '门', '田',
    '井', '寺', '关', '园', '岭', '峰', '垭', '沱', '池', '家', '台', '堡', '洞', '坡', '岗', '庙',
];
const ROADS: &[&str] = &[
    "人民路",
    "解放路",
    "建设路",
    "和平路",
    "中山路",
    "新华路",
    "滨江路",
    "学府大道",
    "民族路",
    "民生路",
    "朝阳路",
    "胜利路",
    "文化路",
    "公园路",
    "北城路",
    "南城大道",
    "金山大道",
    "兴隆街",
];
/// A real street: its name and the latitude and longitude of its centre.
type KnownStreet = (&'static str, f64, f64);

/// Real streets (街道) of the urban core with the approximate WGS-84 centre of each (to within
/// a few hundred metres), so demo searches for well-known places work and their points lie
/// where a resident expects them: a terminal at 解放碑 finds 解放碑's desks round the corner.
const KNOWN_STREETS: &[(&str, &[KnownStreet])] = &[
    (
        "渝中区",
        &[
            ("解放碑", 29.5575, 106.5775),
            ("朝天门", 29.5630, 106.5840),
            ("七星岗", 29.5555, 106.5600),
            ("大溪沟", 29.5640, 106.5450),
            ("上清寺", 29.5620, 106.5370),
            ("化龙桥", 29.5560, 106.5150),
            ("两路口", 29.5520, 106.5480),
            ("菜园坝", 29.5470, 106.5440),
            ("南纪门", 29.5505, 106.5700),
            ("石油路", 29.5400, 106.5220),
            ("大坪", 29.5420, 106.5140),
        ],
    ),
    (
        "沙坪坝区",
        &[
            ("磁器口", 29.5800, 106.4500),
            ("小龙坎", 29.5560, 106.4650),
            ("天星桥", 29.5460, 106.4560),
            ("渝碚路", 29.5600, 106.4530),
            ("井口", 29.6350, 106.4500),
            ("詹家溪", 29.5700, 106.4620),
            ("沙坪坝", 29.5560, 106.4580),
        ],
    ),
    (
        "江北区",
        &[
            ("观音桥", 29.5760, 106.5340),
            ("华新街", 29.5680, 106.5430),
            ("五里店", 29.5870, 106.5650),
            ("石马河", 29.5930, 106.5120),
            ("大石坝", 29.5880, 106.5220),
            ("寸滩", 29.6020, 106.6020),
        ],
    ),
    (
        "南岸区",
        &[
            ("南坪", 29.5300, 106.5600),
            ("弹子石", 29.5660, 106.5920),
            ("铜元局", 29.5370, 106.5500),
            ("海棠溪", 29.5400, 106.5700),
            ("龙门浩", 29.5530, 106.5860),
            ("南山", 29.5420, 106.6150),
        ],
    ),
    (
        "九龙坡区",
        &[
            ("杨家坪", 29.5040, 106.5120),
            ("谢家湾", 29.5160, 106.5130),
            ("石坪桥", 29.5160, 106.4950),
            ("黄桷坪", 29.4890, 106.5200),
            ("石桥铺", 29.5320, 106.4930),
            ("二郎", 29.5130, 106.4470),
        ],
    ),
    (
        "渝北区",
        &[
            ("龙溪", 29.5960, 106.5450),
            ("两路", 29.7200, 106.6300),
            ("回兴", 29.6930, 106.6250),
            ("双凤桥", 29.7300, 106.6480),
            ("仙桃", 29.6980, 106.5600),
            ("人和", 29.6400, 106.5300),
        ],
    ),
];
const BANKS: &[&str] = &[
    "中国农业银行",
    "中国工商银行",
    "中国建设银行",
    "中国银行",
    "重庆农村商业银行",
    "重庆银行",
    "中国邮政储蓄银行",
];

struct TownPlan {
    district: usize,
    name: String,
    /// 街道 (urban street) or 镇/乡 (rural town).
    suffix: &'static str,
    lat: f64,
    lon: f64,
    urban: bool,
}

/// Generates the synthetic catalogue. `scale` 1 gives Chongqing's 13,357 points; `scale` n
/// gives n × 13,357 points, copies 2..n placed as other regions across China (for the
/// national-scale benchmark: 100 gives 1,335,700). Pure and deterministic in `seed`.
pub fn generate(seed: u64, scale: usize) -> Vec<ServicePoint> {
    let mut points = Vec::with_capacity(CHONGQING_POINTS * scale.max(1));
    generate_each(seed, scale, |point| points.push(point));
    points
}

/// [`generate`]'s points handed over one by one, in id order, so a caller that keeps them
/// in another form (the demo back end keeps them compactly) never holds them all as records.
pub fn generate_each(seed: u64, scale: usize, mut each: impl FnMut(ServicePoint)) {
    let seats = district_seats();
    let mut next_id: u32 = 1;
    let mut numbered = |mut point: ServicePoint| {
        point.id = next_id;
        point.photo = format!("photos/{:07}.jpg", point.id);
        next_id = next_id.saturating_add(1);
        each(point);
    };
    for copy in 0..scale.max(1) {
        let mut rng = SplitMix64::new(seed ^ (copy as u64).wrapping_mul(0xA076_1D64_78BD_642F));
        let region = if copy == 0 {
            Region {
                prefix: String::new(),
                city: "重庆",
                dlat: 0.0,
                dlon: 0.0,
            }
        } else {
            // Other regions: a grid over China (lat 22..46, lon 86..122), named like a city.
            let row = (copy - 1) / 10;
            let col = (copy - 1) % 10;
            let center_lat = 22.5 + 2.4 * (row % 10) as f64;
            let center_lon = 86.0 + 3.6 * col as f64;
            let mut name_rng = SplitMix64::new(seed.wrapping_add(copy as u64));
            Region {
                prefix: format!(
                    "{}{}市",
                    name_rng.pick(PLACE_FIRST),
                    name_rng.pick(PLACE_SECOND)
                ),
                city: "",
                dlat: center_lat - 29.9,
                dlon: center_lon - 107.6,
            }
        };
        generate_region(&mut rng, &seats, &region, &mut numbered);
    }
}

struct Region {
    /// Prefix of district names in copies ("龙桥市"), empty for Chongqing itself.
    prefix: String,
    /// City name used in bank branch names.
    city: &'static str,
    dlat: f64,
    dlon: f64,
}

/// Offsets a seat by a random bearing and a distance up to `radius_km` (denser near the seat).
fn scatter(rng: &mut SplitMix64, lat: f64, lon: f64, radius_km: f64) -> (f64, f64) {
    let distance = radius_km * rng.next_f64().powf(1.3);
    let bearing = rng.next_f64() * std::f64::consts::TAU;
    let dlat = distance * bearing.cos() / 111.195;
    let dlon = distance * bearing.sin() / (111.195 * lat.to_radians().cos());
    (lat + dlat, lon + dlon)
}

fn place_name(rng: &mut SplitMix64) -> String {
    let first = *rng.pick(PLACE_FIRST);
    let mut second = *rng.pick(PLACE_SECOND);
    if second == first {
        second = '家';
    }
    format!("{first}{second}")
}

fn phone(rng: &mut SplitMix64) -> String {
    format!("023-{}{:07}", 4 + rng.below(5), rng.below(10_000_000))
}

fn generate_region(
    rng: &mut SplitMix64,
    seats: &[DistrictSeat],
    region: &Region,
    points: &mut dyn FnMut(ServicePoint),
) {
    let district_name =
        |index: usize| -> String { format!("{}{}", region.prefix, seats[index].name) };
    let seat_position = |index: usize| -> (f64, f64) {
        (
            seats[index].latitude + region.dlat,
            seats[index].longitude + region.dlon,
        )
    };
    // Urban-core districts are small and dense; outer districts and counties are wide.
    let weight = |seat: &DistrictSeat| if seat.urban_core { 2.2 } else { 1.0 };
    let total_weight: f64 = seats.iter().map(weight).sum();
    let mut push = |point: ServicePoint| points(point);
    let all_items: Vec<ServiceCode> = SERVICE_ITEMS.iter().map(|item| item.code).collect();

    // City level: four municipal halls in the core.
    const CITY_HALLS: [(&str, &str, &str); 4] = [
        ("市人力资源和社会保障局政务服务大厅", "渝北区", "青枫北路"),
        ("市社会保险事务中心服务大厅", "渝中区", "中山三路"),
        ("市就业服务管理局服务大厅", "江北区", "建新北路"),
        ("市人才交流服务中心", "渝中区", "人民路"),
    ];
    for (name, district, road) in CITY_HALLS {
        let index = seats.iter().position(|s| s.name == district).unwrap_or(0);
        let (lat, lon) = seat_position(index);
        let (lat, lon) = scatter(rng, lat, lon, 3.0);
        let city = if region.prefix.is_empty() {
            "重庆".to_string()
        } else {
            region.prefix.trim_end_matches('市').to_string()
        };
        push(ServicePoint {
            id: 0,
            name: format!("{city}{name}"),
            tier: Tier::City,
            partner_kind: None,
            district: district_name(index),
            address: format!("{}{}{}号", district_name(index), road, 1 + rng.below(300)),
            lat,
            lon,
            area: Area::Urban,
            hours: OpeningHours {
                always_open: rng.chance(0.5),
                ..OpeningHours::office(0..=5, &[(540, 720), (810, 1050)])
            },
            phone: phone(rng),
            photo: String::new(),
            services: all_items.clone(),
        });
    }

    // District level: four halls per district plus branch centres in the busiest ones (172).
    const DISTRICT_HALLS: [&str; 4] = [
        "人力资源和社会保障局服务大厅",
        "社会保险事务中心",
        "就业和人才服务中心",
        "劳动人事争议仲裁院",
    ];
    let district_total = TIER_COUNTS[1].1;
    for index in 0..seats.len() {
        for hall in DISTRICT_HALLS {
            district_point(rng, region, seats, index, hall.to_string(), &mut push);
        }
    }
    for n in 0..district_total.saturating_sub(4 * seats.len()) {
        let index = n % seats.len();
        let name = format!("社保经办{}分中心", ["一", "二", "三"][n / seats.len() % 3]);
        district_point(rng, region, seats, index, name, &mut push);
    }

    // Town level: streets (街道) in the core, towns (镇) and townships (乡) outside.
    let mut towns: Vec<TownPlan> = Vec::with_capacity(TIER_COUNTS[2].1);
    let mut used: std::collections::HashSet<(usize, String)> = std::collections::HashSet::new();
    for (index, seat) in seats.iter().enumerate() {
        if !region.prefix.is_empty() {
            continue;
        }
        if let Some((_, streets)) = KNOWN_STREETS.iter().find(|(d, _)| *d == seat.name) {
            for &(street, lat, lon) in *streets {
                used.insert((index, street.to_string()));
                // Around the street's own centre, not anywhere near the district seat: the
                // street's desks and partners are scattered around this point. (The same two
                // draws as before, so every other point of the catalogue stays where it was.)
                let (lat, lon) = scatter(rng, lat, lon, 0.3);
                towns.push(TownPlan {
                    district: index,
                    name: street.to_string(),
                    suffix: "街道",
                    lat,
                    lon,
                    urban: true,
                });
            }
        }
    }
    while towns.len() < TIER_COUNTS[2].1 {
        let mut pick = rng.next_f64() * total_weight;
        let mut index = 0;
        for (i, seat) in seats.iter().enumerate() {
            pick -= weight(seat);
            if pick <= 0.0 {
                index = i;
                break;
            }
        }
        let seat = &seats[index];
        let name = place_name(rng);
        if !used.insert((index, name.clone())) {
            continue;
        }
        let (lat, lon) = seat_position(index);
        let near_seat = seat.urban_core || rng.chance(0.25);
        let (lat, lon) = if seat.urban_core {
            scatter(rng, lat, lon, 12.0)
        } else if near_seat {
            scatter(rng, lat, lon, 6.0)
        } else {
            scatter(rng, lat, lon, 40.0)
        };
        let suffix = if near_seat {
            "街道"
        } else if rng.chance(0.8) {
            "镇"
        } else {
            "乡"
        };
        towns.push(TownPlan {
            district: index,
            name,
            suffix,
            lat,
            lon,
            urban: near_seat,
        });
    }
    for town in &towns {
        let mut services: Vec<ServiceCode> = all_items
            .iter()
            .copied()
            .filter(|code| ![26, 31, 32, 33, 34].contains(code))
            .filter(|_| rng.chance(0.9))
            .collect();
        if !services.contains(&1) {
            services.insert(0, 1);
        }
        let (lat, lon) = scatter(rng, town.lat, town.lon, 0.3);
        push(ServicePoint {
            id: 0,
            name: format!(
                "{}{}{}人社服务站",
                district_name(town.district),
                town.name,
                town.suffix
            ),
            tier: Tier::Town,
            partner_kind: None,
            district: district_name(town.district),
            address: format!(
                "{}{}{}{}{}号便民服务中心",
                district_name(town.district),
                town.name,
                town.suffix,
                rng.pick(ROADS),
                1 + rng.below(200)
            ),
            lat,
            lon,
            area: if town.urban { Area::Urban } else { Area::Rural },
            hours: OpeningHours::office(0..=4, &[(540, 720), (840, 1050)]),
            phone: phone(rng),
            photo: String::new(),
            services,
        });
    }

    // Village level: communities (社区) around streets, villages (村) around towns.
    const VILLAGE_ITEMS: [ServiceCode; 20] = [
        2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 19, 20, 22, 24, 36,
    ];
    let mut village_names: std::collections::HashSet<(usize, String)> =
        std::collections::HashSet::new();
    let mut made = 0;
    while made < TIER_COUNTS[3].1 {
        let town_index = rng.below(towns.len());
        let town = &towns[town_index];
        let name = place_name(rng);
        if !village_names.insert((town_index, name.clone())) {
            continue;
        }
        made += 1;
        let (kind, radius) = if town.urban {
            ("社区", 1.5)
        } else {
            ("村", 7.0)
        };
        let (lat, lon) = scatter(rng, town.lat, town.lon, radius);
        let mut services = vec![1];
        services.extend(VILLAGE_ITEMS.iter().copied().filter(|_| rng.chance(0.6)));
        let hours = if town.urban || rng.chance(0.5) {
            OpeningHours::office(0..=4, &[(540, 720), (840, 1050)])
        } else {
            // Part-time village desks: Monday, Wednesday and Friday mornings.
            OpeningHours {
                always_open: false,
                weekly: [0u8, 2, 4]
                    .iter()
                    .map(|&weekday| WeeklyInterval {
                        weekday,
                        open: 540,
                        close: 720,
                    })
                    .collect(),
            }
        };
        push(ServicePoint {
            id: 0,
            name: format!("{}{}{}{}人社服务站", town.name, town.suffix, name, kind),
            tier: Tier::Village,
            partner_kind: None,
            district: district_name(town.district),
            address: if town.urban {
                format!(
                    "{}{}{}{}{}号",
                    district_name(town.district),
                    town.name,
                    town.suffix,
                    rng.pick(ROADS),
                    1 + rng.below(400)
                )
            } else {
                format!(
                    "{}{}{}{}村{}组",
                    district_name(town.district),
                    town.name,
                    town.suffix,
                    name,
                    1 + rng.below(12)
                )
            },
            lat,
            lon,
            area: if town.urban { Area::Urban } else { Area::Rural },
            hours,
            phone: phone(rng),
            photo: String::new(),
            services,
        });
    }

    // Partner points: banks (社银), post offices (社邮) and hospitals (社医) in towns.
    for _ in 0..TIER_COUNTS[4].1 {
        let town = &towns[rng.below(towns.len())];
        let district = district_name(town.district);
        let (lat, lon) = scatter(rng, town.lat, town.lon, 1.0);
        let roll = rng.next_f64();
        let (kind, name, services, hours) = if roll < 0.55 {
            let bank = *rng.pick(BANKS);
            let hours = OpeningHours {
                always_open: rng.chance(0.2),
                ..OpeningHours::office(0..=6, &[(540, 1020)])
            };
            (
                PartnerKind::Bank,
                format!(
                    "{bank}{}{}{}支行社银服务点",
                    region.city,
                    district.trim_end_matches(['区', '县']),
                    town.name
                ),
                BANK_ITEMS.to_vec(),
                hours,
            )
        } else if roll < 0.9 {
            (
                PartnerKind::PostOffice,
                format!("中国邮政{}{}邮政所社邮服务点", district, town.name),
                POST_OFFICE_ITEMS.to_vec(),
                OpeningHours::office(0..=5, &[(510, 1050)]),
            )
        } else {
            let hospital = if town.urban {
                "社区卫生服务中心"
            } else {
                "卫生院"
            };
            (
                PartnerKind::Hospital,
                format!("{}{}{}社医服务点", district, town.name, hospital),
                HOSPITAL_ITEMS.to_vec(),
                OpeningHours {
                    always_open: rng.chance(0.3),
                    ..OpeningHours::office(0..=6, &[(480, 1080)])
                },
            )
        };
        push(ServicePoint {
            id: 0,
            name,
            tier: Tier::Partner,
            partner_kind: Some(kind),
            district: district.clone(),
            address: format!(
                "{}{}{}{}{}号",
                district,
                town.name,
                town.suffix,
                rng.pick(ROADS),
                1 + rng.below(300)
            ),
            lat,
            lon,
            area: if town.urban { Area::Urban } else { Area::Rural },
            hours,
            phone: phone(rng),
            photo: String::new(),
            services,
        });
    }
}

fn district_point(
    rng: &mut SplitMix64,
    region: &Region,
    seats: &[DistrictSeat],
    index: usize,
    hall: String,
    push: &mut impl FnMut(ServicePoint),
) {
    let district = format!("{}{}", region.prefix, seats[index].name);
    let (lat, lon) = scatter(
        rng,
        seats[index].latitude + region.dlat,
        seats[index].longitude + region.dlon,
        3.0,
    );
    let services = SERVICE_ITEMS
        .iter()
        .map(|item| item.code)
        .filter(|&code| code != 26)
        .collect();
    push(ServicePoint {
        id: 0,
        name: format!("{district}{hall}"),
        tier: Tier::District,
        partner_kind: None,
        district: district.clone(),
        address: format!("{district}{}{}号", rng.pick(ROADS), 1 + rng.below(500)),
        lat,
        lon,
        area: Area::Urban,
        hours: OpeningHours {
            always_open: rng.chance(0.3),
            ..OpeningHours::office(0..=4, &[(540, 720), (810, 1050)])
        },
        phone: phone(rng),
        photo: String::new(),
        services,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_district_table_has_38_rows_and_9_in_the_core() {
        let seats = district_seats();
        assert_eq!(seats.len(), 38);
        assert_eq!(seats.iter().filter(|s| s.urban_core).count(), 9);
    }

    #[test]
    fn the_generated_catalogue_has_the_article_counts_and_is_deterministic() {
        let points = generate(DEFAULT_SEED, 1);
        assert_eq!(points.len(), CHONGQING_POINTS);
        for (tier, count) in TIER_COUNTS {
            assert_eq!(points.iter().filter(|p| p.tier == tier).count(), count);
        }
        assert_eq!(points, generate(DEFAULT_SEED, 1));
        assert_ne!(points, generate(DEFAULT_SEED + 1, 1));
        for point in &points {
            validate_point(point).expect("generated points are valid");
            assert_eq!(point.partner_kind.is_some(), point.tier == Tier::Partner);
        }
        let banks = points
            .iter()
            .filter(|p| p.partner_kind == Some(PartnerKind::Bank));
        assert!(banks.clone().count() > 1000);
        assert!(banks.clone().all(|p| p.services.len() == 25));
        assert!(points
            .iter()
            .any(|p| p.name == "渝中区解放碑街道人社服务站"));
        assert!(points.iter().any(|p| p.hours.always_open));
        let districts: std::collections::HashSet<_> = points.iter().map(|p| &p.district).collect();
        assert_eq!(districts.len(), 38);
    }

    /// Whether a generated point is named after street `street` of `district`, by the
    /// generator's name patterns: the street's desk, its communities, bank, post office and
    /// clinic.
    fn named_after(point: &ServicePoint, district: &str, street: &str) -> bool {
        let short = district.trim_end_matches(['区', '县']);
        point.district == district
            && (point.name == format!("{district}{street}街道人社服务站")
                || point.name.starts_with(&format!("{street}街道"))
                || point.name.contains(&format!("{short}{street}支行"))
                || point.name.contains(&format!("{district}{street}邮政所"))
                || point
                    .name
                    .contains(&format!("{district}{street}社区卫生服务中心")))
    }

    #[test]
    fn every_point_named_after_a_street_lies_near_the_streets_centre() {
        let points = generate(DEFAULT_SEED, 1);
        let distance = |a: &ServicePoint, lat: f64, lon: f64| {
            crate::locator::distance_m(a.lat, a.lon, lat, lon)
        };
        // The real streets: around their real centres.
        for (district, streets) in KNOWN_STREETS {
            for &(street, lat, lon) in *streets {
                let named: Vec<_> = points
                    .iter()
                    .filter(|p| named_after(p, district, street))
                    .collect();
                assert!(named.len() > 2, "{street}: {}", named.len());
                for point in named {
                    let d = distance(point, lat, lon);
                    assert!(d <= 2_000.0, "{} is {d:.0} m from {street}", point.name);
                }
            }
        }
        // Every street, generated ones too: around its own desk (the desk is within 300 m
        // of the centre, communities 1.5 km, partners 1 km).
        let mut streets = 0;
        for desk in points.iter().filter(|p| p.tier == Tier::Town) {
            let Some(street) = desk
                .name
                .strip_prefix(desk.district.as_str())
                .and_then(|rest| rest.strip_suffix("街道人社服务站"))
            else {
                continue;
            };
            streets += 1;
            for point in points
                .iter()
                .filter(|p| named_after(p, &desk.district, street))
            {
                let d = distance(point, desk.lat, desk.lon);
                assert!(d <= 2_000.0, "{} is {d:.0} m from its desk", point.name);
            }
        }
        assert!(streets > 300, "{streets} streets");
    }

    #[test]
    fn opening_hours_respect_weekday_and_minute() {
        let hours = OpeningHours::office(0..=4, &[(540, 720)]);
        assert!(hours.is_open_at(LocalTime {
            weekday: 0,
            minute: 540
        }));
        assert!(!hours.is_open_at(LocalTime {
            weekday: 0,
            minute: 720
        }));
        assert!(!hours.is_open_at(LocalTime {
            weekday: 5,
            minute: 600
        }));
        assert_eq!(hours.summary(), "Mon-Fri 09:00-12:00");
        assert_eq!(hours.day_groups(), vec![(0, 4, "09:00-12:00".to_string())]);
        let mut split = OpeningHours::office(0..=4, &[(540, 720)]);
        split.weekly.retain(|interval| interval.weekday != 2);
        assert_eq!(
            split.day_groups(),
            vec![
                (0, 1, "09:00-12:00".to_string()),
                (3, 4, "09:00-12:00".to_string())
            ],
            "a closed day splits the run"
        );
    }

    #[test]
    fn services_resolve_by_code_and_name() {
        assert_eq!(find_service("3"), Some(3));
        assert_eq!(find_service("社保卡补换"), Some(3));
        assert_eq!(find_service("card replacement"), Some(3));
        assert_eq!(find_service("补换"), Some(3));
        assert_eq!(find_service("社保卡"), None, "ambiguous");
        assert_eq!(find_service("99"), None);
    }
}
