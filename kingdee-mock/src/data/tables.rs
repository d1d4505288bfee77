//! The static base data the generated materials refer to (organisations, users, groups, units,
//! categories, tax rates) and the word lists their names and specifications are built from.
//! Index 0 of every reference table is the empty reference: id 0, `""` number and name.
//! Customers' and suppliers' own base data (countries, salesmen, currencies, supplier groups)
//! is in [`super::partners::tables`].

use super::partners::tables::{COUNTRIES, CURRENCIES, SALESMEN, SUPPLIER_GROUPS};
use super::row::RefField;

/// One base-data record as `FX`, `FX.FNumber` and `FX.FName` return it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseData {
    pub id: i64,
    pub number: &'static str,
    pub name: &'static str,
}

const fn bd(id: i64, number: &'static str, name: &'static str) -> BaseData {
    BaseData { id, number, name }
}

const EMPTY: BaseData = bd(0, "", "");

/// T00 first: most materials are created and used there.
pub static ORGS: &[BaseData] = &[
    EMPTY,
    bd(1, "T00", "华信集团"),
    bd(100_012, "100", "华信集团上海工厂"),
    bd(100_013, "101", "华信集团深圳工厂"),
    bd(100_014, "102", "华信集团成都销售公司"),
];
pub const ORG_T00: usize = 1;

pub static USERS: &[BaseData] = &[
    EMPTY,
    bd(16_394, "administrator", "系统管理员"),
    bd(100_508, "zhangwei", "张伟"),
    bd(100_509, "wangfang", "王芳"),
    bd(100_510, "lina", "李娜"),
    bd(100_511, "liuyang", "刘洋"),
    bd(100_512, "chenjing", "陈静"),
    bd(100_513, "yanglei", "杨磊"),
    bd(100_514, "zhaomin", "赵敏"),
    bd(100_515, "huangqiang", "黄强"),
];

pub static GROUPS: &[BaseData] = &[
    EMPTY,
    bd(100_201, "01.01", "五金件"),
    bd(100_202, "01.02", "电子元器件"),
    bd(100_203, "01.03", "金属材料"),
    bd(100_204, "01.04", "化工原料"),
    bd(100_205, "02.01", "机加半成品"),
    bd(100_206, "02.02", "组件"),
    bd(100_207, "03.01", "成品"),
    bd(100_208, "04.01", "包装材料"),
    bd(100_209, "05.01", "辅料耗材"),
];

pub static UNITS: &[BaseData] = &[
    EMPTY,
    bd(10_101, "Pcs", "个"),
    bd(10_095, "kg", "千克"),
    bd(10_087, "m", "米"),
    bd(10_103, "箱", "箱"),
    bd(10_099, "Set", "套"),
    bd(10_092, "L", "升"),
    bd(10_104, "Roll", "卷"),
];
pub const UNIT_KG: usize = 2;

pub static CATEGORIES: &[BaseData] = &[
    EMPTY,
    bd(241, "CHLB01_SYS", "原材料"),
    bd(242, "CHLB02_SYS", "辅助材料"),
    bd(243, "CHLB03_SYS", "自制半成品"),
    bd(244, "CHLB05_SYS", "产成品"),
    bd(245, "CHLB06_SYS", "包装物"),
];

pub static TAX_RATES: &[BaseData] = &[
    EMPTY,
    bd(234, "SL02_SYS", "13%增值税"),
    bd(235, "SL03_SYS", "9%增值税"),
    bd(236, "SL04_SYS", "6%增值税"),
    bd(239, "SL07_SYS", "零税率"),
];

impl RefField {
    pub const ALL: [RefField; 10] = [
        RefField::MaterialGroup,
        RefField::CreateOrg,
        RefField::UseOrg,
        RefField::Creator,
        RefField::Modifier,
        RefField::Approver,
        RefField::Forbidder,
        RefField::BaseUnit,
        RefField::Category,
        RefField::TaxRate,
    ];

    /// The material's key of the reference (a customer's for the partner references).
    pub fn key(self) -> &'static str {
        match self {
            RefField::MaterialGroup => "FMaterialGroup",
            RefField::CreateOrg => "FCreateOrgId",
            RefField::UseOrg => "FUseOrgId",
            RefField::Creator => "FCreatorId",
            RefField::Modifier => "FModifierId",
            RefField::Approver => "FApproverId",
            RefField::Forbidder => "FForbidderId",
            RefField::BaseUnit => "FBaseUnitId",
            RefField::Category => "FCategoryID",
            RefField::TaxRate => "FTaxRateId",
            RefField::Country => "FCOUNTRY",
            RefField::Seller => "FSELLER",
            RefField::Currency => "FTRADINGCURRID",
            RefField::SupplierGroup => "FGroup",
        }
    }

    pub fn table(self) -> &'static [BaseData] {
        match self {
            RefField::MaterialGroup => GROUPS,
            RefField::CreateOrg | RefField::UseOrg => ORGS,
            RefField::Creator | RefField::Modifier | RefField::Approver | RefField::Forbidder => {
                USERS
            }
            RefField::BaseUnit => UNITS,
            RefField::Category => CATEGORIES,
            RefField::TaxRate => TAX_RATES,
            RefField::Country => COUNTRIES,
            RefField::Seller => SALESMEN,
            RefField::Currency => CURRENCIES,
            RefField::SupplierGroup => SUPPLIER_GROUPS,
        }
    }

    /// The form the reference points at, as QueryBusinessInfo reports it.
    pub fn lookup_form(self) -> &'static str {
        match self {
            RefField::MaterialGroup => "BD_MATERIALGROUP",
            RefField::CreateOrg | RefField::UseOrg => "ORG_Organizations",
            RefField::Creator | RefField::Modifier | RefField::Approver | RefField::Forbidder => {
                "SEC_User"
            }
            RefField::BaseUnit => "BD_UNIT",
            RefField::Category => "BD_StockCategory",
            RefField::TaxRate => "BD_TaxRate",
            RefField::Country => "BOS_ASSISTANTDATA_DETAIL",
            RefField::Seller => "BD_Saler",
            RefField::Currency => "BD_Currency",
            RefField::SupplierGroup => "BD_SupplierGroup",
        }
    }
}

/// How a kind of material writes its specification.
#[derive(Debug, Clone, Copy)]
pub enum SpecShape {
    Metric,
    Washer,
    Bearing,
    Resistor,
    Capacitor,
    Part,
    Sheet,
    Wire,
    Profile,
    Volume,
    Gear,
    Flange,
    Motor,
    Carton,
    Label,
    Tape,
}

/// A kind of material: its word, the mnemonic letters of the word, and what it usually is.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub word: &'static str,
    pub initials: &'static str,
    pub group: usize,
    pub unit: usize,
    pub category: usize,
    pub spec: SpecShape,
}

const fn kind(
    word: &'static str,
    initials: &'static str,
    group: usize,
    unit: usize,
    category: usize,
    spec: SpecShape,
) -> Kind {
    Kind {
        word,
        initials,
        group,
        unit,
        category,
        spec,
    }
}

use SpecShape as S;

pub static KINDS: &[Kind] = &[
    kind("螺丝", "LS", 1, 1, 1, S::Metric),
    kind("螺母", "LM", 1, 1, 1, S::Metric),
    kind("垫片", "DP", 1, 1, 1, S::Washer),
    kind("弹簧", "TH", 1, 1, 1, S::Wire),
    kind("轴承", "ZC", 1, 1, 1, S::Bearing),
    kind("电阻", "DZ", 2, 1, 1, S::Resistor),
    kind("电容", "DR", 2, 1, 1, S::Capacitor),
    kind("二极管", "EJG", 2, 1, 1, S::Part),
    kind("继电器", "JDQ", 2, 1, 1, S::Part),
    kind("钢板", "GB", 3, 2, 1, S::Sheet),
    kind("铜线", "TX", 3, 3, 1, S::Wire),
    kind("铝型材", "LXC", 3, 3, 1, S::Profile),
    kind("润滑油", "RHY", 4, 6, 2, S::Volume),
    kind("油漆", "YQ", 4, 2, 2, S::Volume),
    kind("齿轮", "CL", 5, 1, 3, S::Gear),
    kind("法兰", "FL", 5, 1, 3, S::Flange),
    kind("阀门", "FM", 6, 1, 3, S::Flange),
    kind("电机", "DJ", 6, 5, 3, S::Motor),
    kind("传感器", "CGQ", 6, 1, 3, S::Part),
    kind("控制柜", "KZG", 7, 5, 4, S::Motor),
    kind("纸箱", "ZX", 8, 4, 5, S::Carton),
    kind("标签", "BQ", 8, 7, 5, S::Label),
    kind("胶带", "JD", 9, 7, 2, S::Tape),
    kind("手套", "ST", 9, 1, 2, S::Part),
];

/// Material words with an adjective in front of them; "" gives the bare word.
pub static PREFIXES: &[(&str, &str)] = &[
    ("", ""),
    ("不锈钢", "BXG"),
    ("碳钢", "TG"),
    ("镀锌", "DX"),
    ("黄铜", "HT"),
    ("铝合金", "LHJ"),
    ("尼龙", "NL"),
    ("高强度", "GQD"),
    ("精密", "JM"),
    ("进口", "JK"),
    ("国产", "GC"),
];

/// Rare names that test a client's text handling: characters outside the BMP, an emoji, quotes.
pub static ODD_NAMES: &[&str] = &[
    "𠀀形卡扣",
    "𡈽石垫块",
    "𪚥纹装饰条",
    "🔩组合螺栓",
    "1/2\"球阀",
    "O'ring密封圈",
    "3/4\" 镀锌管接头",
];

pub static DESCRIPTIONS: &[&str] = &[
    "常用物料，按需采购",
    "客户指定品牌",
    "替代料：见技术通知",
    "仅限项目使用",
    "需来料检验",
];

pub static ERP_CLASSES: &[(&str, u32)] =
    &[("1", 70), ("2", 15), ("3", 5), ("5", 3), ("6", 4), ("9", 3)];

pub static DOCUMENT_STATUSES: &[(&str, u32)] = &[("C", 90), ("Z", 2), ("A", 3), ("B", 2), ("D", 3)];
