"""What a roster file looks like: the template's sheets and columns, the header names schools really use
for them, and the example row. The reader, the template, the export and the import share this table,
so that export → edit → import round-trips by construction."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

STUDENT_SHEET = "学生"
GUARDIAN_SHEET = "监护人"
HELP_SHEET = "说明"

# Canonical fields. Student columns first, then guardian columns.
SCHOOL_CODE = "school_code"
SCHOOL_NAME = "school_name"
GRADE = "grade"
CLASS = "class_name"
STUDENT_NAME = "student_name"
GENDER = "gender"
STUDENT_NO = "student_no"
ID_NUMBER = "id_number"
BIRTH_DATE = "birth_date"
GUARDIAN_NAME = "guardian_name"
RELATION = "relation"
PHONE = "phone"
IS_PRIMARY = "is_primary"
LIVES_WITH = "lives_with"
# Only in a guardian sheet: the student's name next to the 学籍号, checked against the student.
STUDENT_NAME_REF = "student_name_ref"

STUDENT_FIELDS = (SCHOOL_CODE, SCHOOL_NAME, GRADE, CLASS, STUDENT_NAME, GENDER, STUDENT_NO, ID_NUMBER, BIRTH_DATE)
GUARDIAN_FIELDS = (GUARDIAN_NAME, RELATION, PHONE, IS_PRIMARY, LIVES_WITH)


@dataclass(frozen=True)
class Column:
    field: str
    header: str  # what the template and the export write
    note: str  # the header's comment in the template
    width: int = 14
    text: bool = False  # format the column as text so Excel keeps long digit strings intact
    choices: tuple[str, ...] = ()  # a drop-down list in the template
    required: bool = False


RELATION_LABELS = ("父亲", "母亲", "祖父", "祖母", "外祖父", "外祖母", "其他监护人")
YES_NO = ("是", "否")

STUDENT_COLUMNS = (
    Column(SCHOOL_CODE, "学校标识码", "10位学校标识码（教育部统一编码），与“学校名称”填一项即可；学校管理员导入本校时两项都可不填。", 14, text=True),
    Column(SCHOOL_NAME, "学校名称", "学校全称，须与平台中的名称一致。", 20),
    Column(GRADE, "年级", "如：三年级、初一、七年级、高一。班级名称已含年级（如“三(2)班”）时可不填。", 10),
    Column(CLASS, "班级", "必填。如：三(2)班、三年级2班、2班；须是平台中已建立的班级。", 12, required=True),
    Column(STUDENT_NAME, "学生姓名", "必填。", 12, required=True),
    Column(GENDER, "性别", "男 或 女；不填时按身份证号判断。", 8, choices=("男", "女")),
    Column(STUDENT_NO, "学籍号", "必填。全国学籍号（如 G110101201501010011），区内唯一；再次导入时按学籍号更新。", 22, text=True, required=True),
    Column(ID_NUMBER, "身份证号", "18位居民身份证号；末位X大小写均可。请把本列设为“文本”格式，否则Excel会丢失后几位。", 22, text=True),
    Column(BIRTH_DATE, "出生日期", "如 2015-01-02；不填时按身份证号计算。", 12, text=True),
)

GUARDIAN_COLUMNS = (
    Column(STUDENT_NO, "学生学籍号", "必填。与“学生”表中的学籍号一致；也可以是平台中已有学生的学籍号。", 22, text=True, required=True),
    Column(STUDENT_NAME_REF, "学生姓名", "选填，仅用于核对：与该学籍号的学生姓名不一致时会提示。", 12),
    Column(GUARDIAN_NAME, "监护人姓名", "必填。", 12, required=True),
    Column(RELATION, "关系", "从下拉列表选择：父亲/母亲/祖父/祖母/外祖父/外祖母/其他监护人。", 12, choices=RELATION_LABELS),
    Column(PHONE, "手机号", "必填。11位手机号；同一手机号视为同一位监护人（可对应多个孩子）。", 14, text=True, required=True),
    Column(IS_PRIMARY, "是否第一监护人", "是 或 否；每个学生最多一位第一监护人。", 10, choices=YES_NO),
    Column(LIVES_WITH, "是否同住", "是 或 否：是否与学生共同居住。", 10, choices=YES_NO),
)

# The template's example rows: recognised and skipped on import, so a user may leave them in.
EXAMPLE_STUDENT = {
    SCHOOL_CODE: "",
    SCHOOL_NAME: "示例小学（本行为示例，导入时自动跳过）",
    GRADE: "三年级",
    CLASS: "三(2)班",
    STUDENT_NAME: "张小明",
    GENDER: "男",
    STUDENT_NO: "G110101201501020017",
    ID_NUMBER: "110101201501020017",
    BIRTH_DATE: "2015-01-02",
}
EXAMPLE_GUARDIANS = (
    {STUDENT_NO: "G110101201501020017", STUDENT_NAME_REF: "张小明", GUARDIAN_NAME: "张建国", RELATION: "父亲",
     PHONE: "13800000000", IS_PRIMARY: "是", LIVES_WITH: "是"},
    {STUDENT_NO: "G110101201501020017", STUDENT_NAME_REF: "张小明", GUARDIAN_NAME: "李秀英", RELATION: "外祖母",
     PHONE: "13900000000", IS_PRIMARY: "否", LIVES_WITH: "否"},
)

# Header names seen in schools' own sheets, by field. Compared after header_key().
SYNONYMS: dict[str, tuple[str, ...]] = {
    SCHOOL_CODE: ("学校标识码", "学校代码", "学校编码", "学校识别码", "学校标识", "标识码"),
    SCHOOL_NAME: ("学校名称", "学校", "所在学校", "学校全称", "就读学校", "学校名"),
    GRADE: ("年级", "年级名称", "所在年级", "年级名"),
    CLASS: ("班级", "班级名称", "所在班级", "班别", "班级名", "班", "行政班", "行政班级"),
    STUDENT_NAME: ("学生姓名", "姓名", "学生", "学生名字", "学生名称"),
    GENDER: ("性别", "学生性别"),
    STUDENT_NO: ("学籍号", "学生学籍号", "全国学籍号", "国家学籍号", "学籍辅号", "学籍编号", "学籍号码", "全国学籍号码"),
    ID_NUMBER: ("身份证号", "身份证号码", "身份证", "学生身份证号", "学生身份证号码", "公民身份号码", "证件号码", "证件号", "身份证件号"),
    BIRTH_DATE: ("出生日期", "出生年月日", "生日", "出生年月", "出生时间", "出生日"),
    GUARDIAN_NAME: ("监护人姓名", "家长姓名", "监护人", "家长", "联系人", "联系人姓名", "监护人名字", "家长名字"),
    RELATION: ("关系", "与学生关系", "与学生的关系", "监护人关系", "亲属关系", "家长身份", "称谓", "监护人身份", "与本人关系"),
    PHONE: ("手机号", "手机", "手机号码", "联系电话", "家长电话", "家长手机", "家长手机号", "家长联系电话", "监护人电话",
            "监护人手机", "监护人手机号", "监护人联系电话", "电话", "联系方式", "移动电话", "电话号码"),
    IS_PRIMARY: ("是否第一监护人", "第一监护人", "是否主要监护人", "主要监护人"),
    LIVES_WITH: ("是否同住", "同住", "是否共同居住", "共同居住", "是否与学生同住"),
}

# Student columns win for the field both sheets have (学籍号; the guardian sheet calls it 学生学籍号).
LABELS: dict[str, str] = {c.field: c.header for c in GUARDIAN_COLUMNS} | {c.field: c.header for c in STUDENT_COLUMNS}
LABELS[STUDENT_NAME_REF] = "学生姓名"


def header_key(text) -> str:
    """A header as compared: full-width folded, no spaces, no required-marks or bracketed notes."""
    s = unicodedata.normalize("NFKC", str(text or ""))
    s = re.sub(r"[(\[【<《].*?[)\]】>》]", "", s)
    s = re.sub(r"[\s*:：#]", "", s)
    return s.lower()


_HEADER_INDEX: dict[str, str] = {header_key(name): field for field, names in SYNONYMS.items() for name in names}

# Wide layouts put several guardians on one row: 父亲姓名 | 父亲电话 | 母亲姓名 | 母亲电话, or
# 监护人1姓名 | 监护人1电话 | 监护人1关系 … Each prefix becomes a guardian "slot".
_SLOT_WHO = {
    "父亲": "father", "爸爸": "father", "母亲": "mother", "妈妈": "mother",
    "祖父": "paternal_grandfather", "爷爷": "paternal_grandfather", "祖母": "paternal_grandmother", "奶奶": "paternal_grandmother",
    "外祖父": "maternal_grandfather", "外公": "maternal_grandfather", "姥爷": "maternal_grandfather",
    "外祖母": "maternal_grandmother", "外婆": "maternal_grandmother", "姥姥": "maternal_grandmother",
}
_SLOT_WHAT = {
    "姓名": GUARDIAN_NAME, "名字": GUARDIAN_NAME,
    "手机号码": PHONE, "手机号": PHONE, "手机": PHONE, "联系电话": PHONE, "电话": PHONE, "联系方式": PHONE, "电话号码": PHONE,
    "关系": RELATION, "身份": RELATION, "与学生关系": RELATION,
    "是否同住": LIVES_WITH, "同住": LIVES_WITH,
    "是否第一监护人": IS_PRIMARY,
}
_NUM = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "1": "1", "2": "2", "3": "3", "4": "4", "5": "5"}
_SLOT_RE = re.compile(
    r"^(?P<who>" + "|".join(sorted(_SLOT_WHO, key=len, reverse=True))
    + r"|(?:第(?P<n1>[一二三四五1-5])(?:监护人|家长))|(?:(?:监护人|家长)(?P<n2>[一二三四五1-5])))"
    r"(?P<what>" + "|".join(sorted(_SLOT_WHAT, key=len, reverse=True)) + r")$"
)


@dataclass(frozen=True)
class HeaderMatch:
    field: str
    slot: str = ""  # "" for the plain guardian columns; "father", "2", … for wide layouts
    relation: str = ""  # the relation a wide slot implies (父亲姓名 → father)


def match_header(text) -> HeaderMatch | None:
    key = header_key(text)
    if not key:
        return None
    field = _HEADER_INDEX.get(key)
    if field is not None:
        return HeaderMatch(field)
    m = _SLOT_RE.match(key)
    if m:
        who = m.group("who")
        n = m.group("n1") or m.group("n2")
        if n:
            return HeaderMatch(_SLOT_WHAT[m.group("what")], slot=_NUM[n])
        return HeaderMatch(_SLOT_WHAT[m.group("what")], slot=_SLOT_WHO[who], relation=_SLOT_WHO[who])
    return None


def synonyms_text(field: str) -> str:
    return "、".join(SYNONYMS.get(field, (LABELS[field],))[:5])


# Shown on the template's 说明 sheet and on the import page.
RULES = (
    _("模板有“学生”和“监护人”两张表；也可以上传学校自己的单张表（每行一个学生加一位监护人，多位监护人就重复学生行），或“父亲姓名、父亲电话、母亲姓名、母亲电话”这样的宽表。"),
    _("表头按名称识别，顺序不限；常见写法（如“姓名”“联系电话”“家长电话”“学籍辅号”）都能识别，无法识别的列会被忽略并在预览中列出。"),
    _("再次导入按学籍号更新学生、按手机号更新监护人，不会重复建人；文件中没有的学生和监护人不会被删除。"),
    _("空白单元格不会清除平台中已有的信息；带星号的脱敏值（如 138****5678）表示“保持不变”，不会覆盖原值。"),
    _("合并单元格：合并区域内的每一行都取合并区域左上角的值（例如合并的“班级”单元格适用于区域内所有学生）。未合并的空白单元格按空白处理。"),
    _("全角数字和字母、多余空格、Excel数字末尾的“.0”、小写x的身份证号、各种日期写法（2015-01-02、2015/1/2、20150102）会被自动规范。"),
    _("导入是“全有或全无”的：只要有一行有问题，就一行都不写入。请按问题清单修改后重新上传。"),
    _("示例行（示例小学·张小明）会被自动跳过，可以保留也可以删除。"),
)
