//! The base data customers and suppliers refer to (countries, salesmen, currencies, supplier
//! groups) and the word lists their company names, addresses and phone numbers are built from.
//! Index 0 of every reference table is the empty reference, as in [`crate::data::tables`].

use crate::data::tables::BaseData;

const fn bd(id: i64, number: &'static str, name: &'static str) -> BaseData {
    BaseData { id, number, name }
}

const EMPTY: BaseData = bd(0, "", "");

/// FCOUNTRY is an assistant-data entry (辅助资料 国家) in K3Cloud; China first.
pub static COUNTRIES: &[BaseData] = &[
    EMPTY,
    bd(9_001, "China", "中国"),
    bd(9_002, "HongKong", "中国香港"),
    bd(9_003, "USA", "美国"),
    bd(9_004, "Germany", "德国"),
    bd(9_005, "Japan", "日本"),
    bd(9_006, "Korea", "韩国"),
];

/// Salesmen (BD_Saler) a customer is assigned to.
pub static SALESMEN: &[BaseData] = &[
    EMPTY,
    bd(101_101, "XSY001", "周杰"),
    bd(101_102, "XSY002", "吴婷"),
    bd(101_103, "XSY003", "郑浩"),
    bd(101_104, "XSY004", "孙丽"),
    bd(101_105, "XSY005", "马俊"),
    bd(101_106, "XSY006", "朱琳"),
];

/// K3Cloud's preset currencies (PRE001 人民币 first).
pub static CURRENCIES: &[BaseData] = &[
    EMPTY,
    bd(1, "PRE001", "人民币"),
    bd(2, "PRE002", "香港元"),
    bd(3, "PRE003", "欧元"),
    bd(4, "PRE004", "日本日圆"),
    bd(7, "PRE007", "美元"),
];

pub static SUPPLIER_GROUPS: &[BaseData] = &[
    EMPTY,
    bd(100_301, "01", "原材料供应商"),
    bd(100_302, "02", "外协加工商"),
    bd(100_303, "03", "设备供应商"),
    bd(100_304, "04", "服务商"),
];

/// A city: its name, telephone area code and the first digits of its tax codes.
pub struct City {
    pub name: &'static str,
    pub area: &'static str,
    pub region: &'static str,
}

const fn city(name: &'static str, area: &'static str, region: &'static str) -> City {
    City { name, area, region }
}

pub static CITIES: &[City] = &[
    city("上海", "021", "310115"),
    city("深圳", "0755", "440300"),
    city("苏州", "0512", "320500"),
    city("杭州", "0571", "330100"),
    city("成都", "028", "510100"),
    city("广州", "020", "440100"),
    city("宁波", "0574", "330200"),
    city("东莞", "0769", "441900"),
    city("武汉", "027", "420100"),
    city("北京", "010", "110108"),
];

/// Trade names (字号) of the generated companies.
pub static BRANDS: &[&str] = &[
    "华腾", "恒信", "鑫达", "永泰", "宏远", "金盛", "瑞丰", "中联", "安捷", "博通", "新阳", "天成",
    "海瑞", "德力", "联发", "嘉禾", "众合", "远航", "润泽", "锦程",
];

/// What a customer's company does.
pub static CUSTOMER_TRADES: &[&str] = &[
    "机械设备",
    "电子科技",
    "贸易",
    "汽车零部件",
    "家电",
    "建材",
    "五金制品",
    "医疗器械",
];

/// What a supplier's company does, with its usual FSupplyClassify (CG 采购, WW 委外, FW 服务)
/// and FGroup.
pub static SUPPLIER_TRADES: &[(&str, &str, usize)] = &[
    ("钢材", "CG", 1),
    ("电子元件", "CG", 1),
    ("化工", "CG", 1),
    ("包装材料", "CG", 1),
    ("精密机械加工", "WW", 2),
    ("表面处理", "WW", 2),
    ("自动化设备", "CG", 3),
    ("物流", "FW", 4),
];

pub static COMPANY_SUFFIXES: &[&str] = &["有限公司", "有限公司", "股份有限公司", "实业有限公司"];

/// Rare names that test a client's text handling: characters outside the BMP, quotes.
pub static ODD_COMPANIES: &[&str] = &[
    "𠮷野家餐饮管理有限公司",
    "O'Neil贸易（香港）有限公司",
    "\"三友\"工贸有限公司",
];

pub static STREETS: &[&str] = &[
    "人民路",
    "建设路",
    "工业大道",
    "科技园路",
    "长江路",
    "中山路",
];

pub static CONTACTS: &[&str] = &["张经理", "李工", "王总", "陈小姐", "刘先生", "赵主管"];

/// FDocumentStatus of generated customers and suppliers, with weights.
pub static DOCUMENT_STATUSES: &[(&str, u32)] = &[("C", 88), ("A", 6), ("Z", 1), ("B", 2), ("D", 3)];
