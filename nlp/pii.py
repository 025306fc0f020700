"""Personal data (个人信息) detection and masking (脱敏) for free texts and for structured fields.

**What is found** (:func:`find_pii`, kinds in brackets):

- 手机号 ``mobile``: ``1[3-9]`` + 9 digits, also written ``138-1234-5678`` / ``138 1234 5678`` /
  ``139.3712.6688`` / ``138—3712—5577`` / ``(150)3712 8899`` / ``1 3 8 3 …``, with ``+86`` / ``0086`` / ``86``
  or a trunk ``0``, and in Chinese numerals (一三八…, 幺三八…, also mixed with digits).
- 固定电话 ``landline``: area code ``010``, ``02x`` or ``0[3-9]xx``, then a 7–8 digit number, written
  ``0371-65432198``, ``0371 65432198``, ``0371—65432198``, ``0371/65432198``, ``(0371)65432198``,
  ``037165432198`` or ``+86-371-65432198``, with an optional extension (``转123``, ``-123``, ``分机123``);
  a second number right after one (``0371-65432198、65432199``).
- 身份证号 ``id_card``: 18 characters with a *valid* check digit (GB 11643, via
  ``stdnum.cn.ric.calc_check_digit``) and a real birth date; the old 15-digit number only right after
  a label (身份证, 证件号 …), because it has no check digit.
- 统一社会信用代码 ``credit_code``: 18 characters valid per GB 32100-2015 (``stdnum.cn.uscc``). A token
  of the same shape (8 digits + 10 code characters, at least one of them a letter) whose check
  character is wrong is masked too and reported as ``credit_code_invalid`` (typing errors in a real
  code are still personal data of the entity). An all-digit 18-character number that is neither a
  valid ID nor a valid credit code is *left alone* (order numbers, serials).
- 电子邮箱 ``email``.
- Written in groups (``4101 0219 9003 0712 30``, ``410102-19900307-1230``, ``9141 0102 MA46 C8QW 0U``): an ID
  number or credit code whose characters without the separators pass the checks above.
- 车牌 ``plate`` (豫A12345, 豫A·8K2M9), 微信/QQ ``im_account`` and 护照/通行证 ``passport`` numbers after their
  label.
- 银行卡号 ``bank_card``: 16, 17 or 19 digits (optionally in groups of four) starting with 3–6 and
  passing the Luhn check.
- 姓名 ``person_name``: a surname (common single and compound surnames) + title — X先生, X女士, X小姐,
  X老师, X师傅, X经理, X书记, X医生, X律师, X老板, X同志 … (``_TITLES``), also with the given name (张三先生);
  张总, 刘工, 王姐, 李哥 (a surname and a one-character title); 老赵, 小杨 — and a 2–3 character name after
  a label: 联系人/姓名/来电人/投诉人/反映人/申请人/当事人/负责人/经办人/法定代表人/户主/我叫/本人/督查员/
  监督员/处理人/对接人/法人/民警 … (``_NAME_LABELS``), after a person's role (业主孙志强, 邻居贾宝玉), opening a
  sentence before a reporting verb (刘洋反映：), joined to such a name (吴建平、谢美玲) or right before a phone
  number (李桂香139…). A place is not a name (来电人是高新区, 李寨反映), nor 于 before a time (来电人于近日).

- 房号 ``room``: the flat of a home written in a text — a unit followed by a flat number (3单元1502),
  a flat after a building (号楼1502, A座1803室), 房号 and a number, or three or four digits and 室;
  the building stays (3号楼 is a staircase of dozens of homes, and the clue list needs it). 3室2厅, 第2单元
  and 1203户居民 (a count) are not flats.

Digits are recognised in ASCII or full width; matches never start or end inside a longer run of
digits (or letters, for codes), so dates (2026-11-03, 20261103), amounts (12000元, 3.5万元), times,
postcodes (450000), 工单编号 (2026110300123, ZZ2026110312345) and invalid 18-digit numbers survive.

**How it is masked** (:func:`mask_pii`; ``*`` replaces each hidden character, separators are kept):

============================  ==============================  ===============================
kind                          rule                            example
============================  ==============================  ===============================
mobile                        first 3 and last 4 digits       138****5678, +86 138-****-5678
landline                      area code and last 2 digits     0371-******98
id_card                       first 6 and last 4 (前6后4)     410102********1234
credit_code(_invalid)         first 2 and last 4 characters   91************341L
email                         first character, ***, @domain   z***@example.com
plate                         province and letter, last kept  豫A****5
im_account, passport          first and last two kept         w***_****88, E******78
bank_card                     first 4 and last 4 digits       6222 **** **** 0123
person_name (full name)       surname kept, given name hidden 张*, 欧阳**, 张*先生
person_name (surname+title)   surname hidden, title kept      *先生, *女士
room (房号)                   its digits hidden               3号楼*单元****, A座****室
============================  ==============================  ===============================

Masking is idempotent and leaves a text without personal data unchanged.

**Structured fields**: :func:`mask_name` (姓名字段, same rule as above), :func:`mask_phone_field`,
:func:`mask_org_name` (企业名称: region prefix and organisational form kept, 字号 hidden, names of
个体工商户 that are a person's name masked like a name) and :func:`salted_hash` (HMAC-SHA256 of a
normalised value, e.g. the credit code used as a join key without storing it), :func:`mask_address`
(地址: the place and its building or house number kept, unit, floor and room hidden —
郑东新区祥润花园3号楼2单元1203 → 郑东新区祥润花园3号楼***) and :func:`mask_ip` (IP地址 of a questionnaire
answer: the last two parts hidden — 171.8.*.*(河南-郑州)).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = [
    "KINDS",
    "PiiMatch",
    "find_pii",
    "is_valid_credit_code",
    "is_valid_id_number",
    "field_kind",
    "field_mask",
    "mask_address",
    "mask_credit_code",
    "mask_identifier",
    "mask_ip",
    "mask_many",
    "mask_matches",
    "mask_name",
    "mask_org_name",
    "mask_phone_field",
    "preload",
    "mask_pii",
    "might_contain_room",
    "salted_hash",
]

KINDS = (
    "mobile",
    "landline",
    "id_card",
    "credit_code",
    "credit_code_invalid",
    "email",
    "bank_card",
    "person_name",
    "room",
    "plate",
    "im_account",
    "passport",
)


@dataclass(frozen=True)
class PiiMatch:
    """One piece of personal data in a text: ``text[start:end] == value``."""

    kind: str
    start: int
    end: int
    value: str


# --- surnames (百家姓, the common ones) ------------------------------------------------------------
# Characters that are far more often function words than surnames (和, 于, 向, 同 …) are left out on
# purpose: they would turn 学生和老师 into a name.
_SINGLE_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
    "汤易常乔赖文庞樊兰殷施洪翟安颜倪严牛温芦季俞章鲁葛伍韦申尤毕聂焦向柴岳齐祝储"
    # more of the 300 most common surnames (real letters: 我叫喻**, 我叫康*, 我叫涂*); characters that
    # mostly start ordinary words before a title or after a label (和, 从, 上, 原, 国, 时 …) are left out
    "康喻涂左丛艾饶胥简梅柳邝匡翁巫欧牟闵戚奚庄仲惠粟栗鞠臧巩鄢廉岑苟仇萧隋邸谈晋敖荆扈缪郁逄雍郜谌衡蒲"
    "姬湛尧迟郎帅赫旷薄楚邰闻茹燕嵇穆詹代景童宗冀傅"
    # 于 (a top-100 surname) is mostly the preposition: see _YU_WORDS and the weak-label rule
    "于"
    "耿邢滕纪舒屈项甄柯祁宁卓蒙池乐阎鲍褚霍虞管卜柏冉揭麦阮尚宫蓝芮邬单晏瞿"
    "吉练钮佘佟苗邱凌骆裴荣栾靳甘包窦盛辛杭费卞解路游桂丘桑房滑蔺谷全边凤"
    # seen missed in a red-team run (华女士, 关先生, 符**, 车**); the dictionary check below keeps
    # 中华, 相关, 符合 and 车辆 from being read as names
    "关符华车"
    # (version 8, blind red-team run: 占, 卫, 寇, 智, 曲, 计, 豆, 门, 封 were never read as surnames; not 连
    # and 班, which start 连…都 and 小班/当班 far more often than a name)
    "占卫寇智曲计豆门封"
    # (version 9, blind red-team run 5: 仝晓鹏, 亓文涛 — Henan and Shandong surnames)
    "仝亓逯昝郄禚訾缑阚亢冼"
)
_COMPOUND_SURNAMES = (
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "百里", "呼延", "澹台", "太史", "申屠", "闻人", "钟离",
    "宗政", "濮阳", "淳于", "单于", "东郭", "公羊", "赫连", "万俟", "拓跋", "第五", "左丘", "梁丘",
)
def _trie(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, longest first, factored by common prefix (来(?:电人|信人)|…):
    Python's re tries a flat alternation word by word at every position of every text, and the lists of
    labels, roles and titles are long (the masking gate runs on every cell of every row)."""
    tree: dict = {}
    for w in words:
        node = tree
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        ends = "" in node
        parts = [re.escape(ch) + build(sub) for ch, sub in sorted(node.items()) if ch]
        if not parts:
            return ""
        body = parts[0] if len(parts) == 1 and len(parts[0]) == 1 else "(?:" + "|".join(parts) + ")"
        if len(parts) == 1 and not ends and len(parts[0]) > 1:
            body = parts[0]
        return body + "?" if ends else body

    return "(?:" + build(tree) + ")"


_SURNAME_RE = "(?:" + _trie(_COMPOUND_SURNAMES) + "|[" + "".join(sorted(set(_SINGLE_SURNAMES))) + "])"
_TITLES = ("先生", "女士", "小姐", "老师", "师傅", "经理", "主任", "科长", "处长", "局长", "所长", "队长", "警官",
           # (masking version 8, red team: 张总's and X书记's names were stored wherever wages or villages are
           # complained about; the guards below keep 有关同志, 主管会计, 全村长辈 and 保安大爷 words)
           "总经理", "董事长", "总监", "书记", "支书", "医生", "大夫", "护士", "律师", "法官", "校长", "园长", "院长",
           "站长", "厂长", "行长", "镇长", "乡长", "村长", "组长", "部长", "店长", "老板", "会计", "工程师", "教练",
           "同志", "秘书", "阿姨", "大爷", "大姐", "大哥", "大妈", "网友")
# Longest first, so that 张总经理 is 张 + 总经理, not 张总 + 经理.
_TITLES_LONGEST = tuple(sorted(_TITLES, key=len, reverse=True))
# One-character titles after a bare surname (张总, 刘工, 王姐, 李哥): only the surname, and not when the
# two characters, or the title and what follows, make a word (施工, 童工, 帅哥; 总是, 工资, 哥们).
_SHORT_TITLES = "总工姐哥"
_NOT_SHORT_TITLED = frozenset(["童工", "包工", "帅哥", "施工", "华工", "钱总"])
_AFTER_SHORT_TITLE = re.compile(r"[，,。、；;：:！!？?\s（(）)]|说|让|的|和|跟|讲|称|表示|告诉|答应|承诺|电话|手机|要求|也|都|还|又|"
                                r"就|在|是|不|没|已|家|那|这|给|对|把|被|们|一直|态度|帮|拖|每天|经常|$")
_NAME_LABELS = (
    "法定代表人", "法人代表", "联系人", "来电人", "投诉人", "反映人", "申请人", "当事人", "负责人", "经办人",
    "举报人", "留言人", "委托人", "经营者", "户名", "签名", "落款",
    "姓名", "户主", "我叫", "本人", "我是",
    # (session 9: the sample generator's and real orders' 办事人郭华卫，身份证号… and 其叫孙文，手机… were
    # stored in clear beside their masked ID and phone)
    "办事人", "其叫", "他叫", "她叫", "名叫", "名字叫", "名字为", "名字是", "承办人", "受理人", "接线员",
    # (version 8: officials, supervisors and contacts named in replies and reports — 督查员吴建平、谢美玲,
    # 处理人：马晓东, 对接人刘晓燕, 企业法人黄志刚)
    "对接人", "法人", "来信人", "签字", "督查员", "监督员", "处理人", "回复人", "办理人", "专员", "服务官", "客服",
    "民警", "队员", "科员", "包联领导",
    # (blind red-team run: form and report fields, replies' greetings, self-descriptions)
    "填表人", "填报人", "填写人", "被调查人", "答卷人", "被访人", "受访者", "受访人", "访谈对象", "报告人", "业主代表",
    "甲方", "乙方", "失主", "审核人", "签批人", "记录人", "回访人", "联名人", "自称", "网友", "叫",
    # the signature lines under an export (制表人：王建国　审核：李红梅) — stored in quarantine.raw
    "制表人", "制表", "审核", "打印人", "录入人", "统计人", "核对人", "复核人",
    # (version 9, blind red-team run 5: badges and forms in mystery-shopper findings, payments, transfers)
    "胸牌显示", "胸牌", "工牌显示", "工牌", "真名", "全名", "大名", "付款人", "收款人", "接收人", "收件人", "寄件人",
    "名字", "回访对象", "帮扶对象", "服务对象", "调查对象", "联系对象",
)
# Labels of version 8: like the verb labels below, a common word after them is no name (领导高度重视).
_LOOSE_LABELS = ("对接人", "法人", "签字", "督查员", "监督员", "处理人", "回复人", "办理人", "专员", "服务官", "客服",
                 "民警", "队员", "科员", "包联领导", "填表人", "填报人", "填写人", "被调查人", "答卷人", "被访人", "受访者",
                 "受访人", "访谈对象", "报告人", "业主代表", "甲方", "乙方", "失主", "审核人", "签批人", "记录人", "回访人",
                 "联名人", "自称", "网友", "叫", "制表人", "制表", "审核", "打印人", "录入人", "统计人", "核对人",
                 "复核人", "胸牌显示", "胸牌", "工牌显示", "工牌", "真名", "全名", "大名", "付款人", "收款人", "接收人",
                 "收件人", "寄件人", "名字", "回访对象", "帮扶对象", "服务对象", "调查对象", "联系对象")
# Labels mostly followed by a verb or an adverb in replies and letters (负责人高度重视, 申请人于近期,
# 当事人陈述, 本人常年在外): a candidate name after them that is a common word is no name.
_VERB_LABELS = ("负责人", "申请人", "当事人", "委托人", "经营者", "本人", "我是", "经办人", "户主") + _LOOSE_LABELS
# What follows a compound's or a business's name (after 来电人是, 联系人是 …): then the 'name' was the
# start of a place (黄河花苑, 东方今典花园, 龙湖晓风小区, 王府井商场), which 129 of 331 demo texts lost.
_PLACE_AFTER_NAME = re.compile(r"(?:(?![的之在])[\u4e00-\u9fa5])?(?:小区|花园|家园|苑|园|城|府|庭|湾|公馆|社区|村|大厦|广场|公寓|"
                               r"商场|商城|市场|超市|公司|店|厂|中心|医院|学校|项目|楼盘)")
# Characters that do not occur in a given name before a title: 郑州的老师, 金水区老师, 高二的老师.
_NOT_IN_TITLED_NAME = frozenset("的之们地得了区县市省镇乡村路街队组班校院城场店厂苑"
                                "副正总代常是等贷部办科处局室股所委会厅署")  # (陈副局长: 副 is no given name; 车管部经理: an office)
# Weak labels: usually followed by anything but a name (本人严重不满, 我是外地人), so the name must be
# followed by punctuation or a typical verb (_AFTER_WEAK_LABEL).
_WEAK_LABELS = ("本人", "我是", "叫")  # (叫: 叫车直到, 边叫边建)
# What 我是 introduces when it is not a name: roles and origins (我是郑州人，我是房东，我是高中生，).
_ROLE_ENDINGS = tuple("人员户者客主工镇村乡县市区省")
_NOT_SELF_NAMES = frozenset(["高中生", "初中生", "大学生", "研究生", "毕业生", "应届生", "小学生", "中学生", "留学生",
                             "实习生", "学生", "考生", "新生", "单亲", "党员", "金融", "房东"])
# Strings before a title that are words, not names (谢谢老师, 各位先生 …).
_NOT_NAMES = frozenset(["谢谢", "多谢", "感谢", "各位", "这位", "那位", "该位", "某某", "大家", "诸位", "王牌", "代课",
                        # public figures held up as examples (学习焦裕禄同志): no one's personal data
                        "焦裕禄", "雷锋", "孔繁森", "杨善洲", "谷文昌", "习近平", "毛泽东", "邓小平", "周恩来", "张思德",
                        "白求恩", "黄大年", "钱学森", "袁隆平", "钟南山"])
# A third character that almost always starts the next word, not a given name (本人张三反映 …).
_NOT_GIVEN_3RD = frozenset("反说是在的了于和与向因现今去来到已要想称住系电先女小老师家等及也就都还曾将把被让给不涉确违"
                           "所致暗报带核联对夜牵存代赶接答回检办签一"
                           "换拿做打找问讲送收交推骂踢看听帮离进系到跟出着但却"
                           "均非很仍又才便即亦皆尚")  # (投诉人闫磊均未到场, 杨帆很负责: blind run 6)  # (version 9: 袁野换了, 郭志强推搡)  # (于洋所购, 韩雪致歉, 郝丽暗访)
# Common words between a surname-like character and a title: 提高|学校老师 is not 高学校 + 老师.
_NOT_GIVEN_WORDS = frozenset(
    ["学校", "班主任", "数学", "语文", "英语", "物理", "化学", "体育", "音乐", "美术", "辅导", "培训", "幼儿园",
     "医院", "物业", "快递", "外卖", "维修", "司机", "送餐", "开锁", "驾校", "教练", "家教", "兴趣班", "代课",
     "年级", "班级", "学生", "同学", "家长", "社区", "街道", "窗口",
     # before 经理/主任/科长 … (session 9): the job, not a given name (段 + 项目经理)
     "项目", "客户", "部门", "产品", "区域", "销售", "财务", "信贷", "大堂", "值班", "办公室", "车间", "科室",
     "办案", "值守", "分管", "主管"]
)
# After 于, characters that start a time (本人于今年/上月/昨日/本周…): the preposition, not the surname.
_YU_TIME_STARTS = frozenset("今去前昨上下本次当近日月年周星早晚同该此")
# Characters that form a word with a following 于 (关于, 由于, 对于 …): 关于老师 is not 于老师.
_YU_WORDS = frozenset("关由对至属等基鉴处出用终急善便易忙在限归过敢乐勇甘位免源从")
# Words after a label that start with a surname character and are not names.
# What follows a person's name, not a word, after a label: a reporting verb (监督员朱红梅反映, 负责人陆军表示).
_REPORTING_AFTER = re.compile(r"反映|表示|介绍|答复|告知|承诺|同志|来电|投诉|举报")  # (not 称: 当事人陈述称)
_NOT_LABELLED_NAMES = frozenset(["代表", "代理", "代办", "单位", "资格", "主体",
                                 # verbs jieba counts too rarely to know (当事人申领《食品经营许可证》)
                                 "申领", "申办", "申诉", "申报", "付钱", "付款", "付清", "付费"])
# Form fields that can follow 姓名， in a list (姓名，单位，电话) and start with a surname character.
_FORM_FIELDS = frozenset(["年龄", "年纪", "单位", "籍贯", "职务", "职称", "党派", "户籍"])
# After the weak label 本人 (or 姓名 followed by a comma) a name must be followed by punctuation or a typical verb, because 本人 is
# usually followed by anything but a name (本人严重不满, 本人申请执行).
_AFTER_WEAK_LABEL = re.compile(r"[，,。.、；;：:（()）\s]|反映|投诉|来电|咨询|举报|申请|称|于|在|是|家住|住在|现住|身份证|电话|手机|$")

# A document's number label right before a number that looks like a landline (发票代码, 编号 …).
_CODE_LABEL_BEFORE = re.compile(r"(?:代码|编码|编号|单号|票号|(?<!来电|电话|手机|联系|座机|主叫|留的|用的|备用)号码|合同号|订单号|案号|批号|条码|户号|表号|卡号)"
                                r"[:：\s是为]{0,2}$")

# People named by their role right before their name (业主孙志强, 司机马超).
_PERSON_ROLES = ("业主", "市民", "居民", "村民", "住户", "租户", "车主", "司机", "老板", "店主", "员工", "职工",
                 "工人", "丈夫", "妻子", "爱人", "儿子", "女儿", "父亲", "母亲", "同事", "包工头", "经理", "主任",
                 "校长", "医生", "律师", "会计", "股东", "房东", "网格员", "工作人员", "快递员", "外卖员", "家长",
                 "患者", "病人", "老人", "孩子",
                 # (version 8)
                 "客服", "家属", "邻居", "弟弟", "哥哥", "姐姐", "妹妹", "孙女", "孙子", "外孙", "小哥", "队长", "支书",
                 "干部", "同学", "朋友", "亲戚", "保安", "厨师", "店员", "营业员", "业务员", "中介",
                 # an office's head named after the office (财务科科长刘军, 分管副局长张三, 车管部经理…)
                 "科长", "处长", "局长", "所长", "书记", "院长", "站长", "组长", "部长", "校长", "行长", "厂长",
                 # family and parties of a complaint; staff by their job (…员, 人员, 教师, 窗口, a unit)
                 "教师", "老伴", "其妻", "其夫", "其子", "其女", "前妻", "前夫", "婆婆", "公公", "岳父", "岳母", "小叔子", "保姆",
                 "工友", "卖方", "买方", "合伙人", "租客", "房客", "子女", "窗口", "交警", "人员", "员", "中队", "大队",
                 "分局",
                 # (version 9, blind red-team run 5: staff, parties and family named in replies and orders)
                 "辅警", "协警", "楼长", "顾问", "经纪人", "财务", "内勤", "之子", "之女", "之妻", "之夫", "之父", "之母",
                 "客户", "工商户", "个体户", "承租人", "出租人", "实际控制人", "工头", "班长", "领班", "主管", "专干",
                 "社工", "骑手", "前台", "出纳", "护士", "保洁", "司法所所长", "老公", "媳妇", "儿媳", "女婿",
                 "外甥", "侄子", "奶奶", "爷爷", "外婆", "姥姥", "姥爷", "舅舅",
                 # (blind run 6: supervisors' reports open with 媒体记者罗晓彤反映, 商会代表谢建明反映)
                 "记者", "代表", "教练", "店长")
# Surnames a bare name may start with: the common ones that seldom start another word here (not 向
# 于 方 房 管 费 车 关 华 万 安 明 文 全 成 路 解 包 边 甘 谷 宁 单 尚 乐 池 和 …: 向您反映, 业主方, 业主房款).
_BARE_SURNAMES = frozenset("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏"
                           "吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵钱"
                           "严覃武戴莫孔汤易常乔赖庞樊殷施洪翟颜倪牛季俞章鲁葛伍申尤毕聂焦柴岳齐祝储康喻涂左艾饶"
                           "梅柳翁巫欧戚庄仲惠粟鞠巩廉岑苟萧隋郁雍谌蒲姬湛郎赫楚闻穆詹童冀傅耿邢滕纪舒屈项甄柯祁"
                           "卓蒙阎鲍褚霍虞卜柏冉阮芮邬晏瞿佘佟苗凌骆裴栾靳窦盛辛卞桂桑蔺"
                           "寇曲豆封卫计")
# The hundred most common surnames: enough, with a role before it, for a name nothing after confirms.
_STRONG_SURNAMES = frozenset("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏"
                             "吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵钱")
_PRONOUNS = frozenset("您你我他她它们咱")
# What follows a bare name: punctuation or a verb or adverb that starts the next word.
_AFTER_BARE_NAME = (r"[，,。.、；;：:（()）\s]|反映|投诉|来电|称|说|表示|举报|多次|一直|于|在|向|把|将|被|已|也|还|曾|"
                    r"因|和|与|等|的|拒|不|没|未|要求|承诺|答应|告知|让|叫|"
                    # praise and complaints name the clerk: 工作人员徐东珍工作认真负责, 工作人员李娜态度很好
                    r"态度|工作认真|服务热情|热情|耐心|认真|"
                    # (version 8: 业主王建国家漏水, 老板王建国电话138…, 杨秀兰都是, 罗秀英今年)
                    r"家|电话|手机|都|今年|负责|上班|告诉|拖欠|上门|"
                    # (what replies say their staff did: 执法人员金晓东现场调解, 宋建平带队, 吕彦斌负责跟进)
                    r"现场|带队|联系|核实|对|夜间|牵头|确有|存在|代为|前往|赶到|接待|答复|回复|检查|办理|签字|同意|"
                    r"到场|出警|进行|跟踪|离职|系|夫妇|夫妻|两人|二人|一家|$")  # (version 9: 辅警石磊出警, 邻居侯建设进行了调解)
# The end of a would-be name that makes it a place (来电人是高新区, 投诉人为周边居民, 联系人是万达广场的,
# 李寨反映): villages, districts and collective nouns, not people (version 8).
_PLACE_TAIL = re.compile(r"[区县市省镇乡村庄寨屯寺场站]|街道|居民|村民|群众|市民|超市|广场|大厦|小区|花园|家园|社区|公寓|商场|商城|市场|"
                         r"新城|公司|集团|银行|中心|医院|学校|项目|楼盘|"
                         r"派出所|法院|检察院|分局|支队|大队|中队|税务所|供电所|管理所|司法所|办事处")  # (金光派出所)

_CODE = "0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy"  # GB 32100 code characters (no I, O, Z, S, V)
# Between the groups of a phone number: what callers and operators type (a space, -, ., —, _, /, with
# spaces around), at most one separator (version 8: 139.3712.6688 and 138 - 3712 - 5577 were kept).
_SEP = r"(?:[ \-]|\s?[\-.—–_/·]\s?)?"
_LSEP = r"(?:[ \-]|\s?[\-.—–/]\s?)"
_AREA = r"0(?:10|2\d|[3-9]\d{2})"
_EXT = r"(?:(?:转|-|ext\.?|分机)\d{1,6})?"

# A name after a person's role (业主孙志强反映, 其丈夫李强在工地, 包工头王大明不赔偿), and (version 9) a three-character
# one whatever follows it (保安郭志强推搡, 住户程立东到场)
# (one alternative with two branches: the role list is tried once per position)
_ROLE_NAME = (rf"(?P<rolectx>{_trie(_PERSON_ROLES)})(?:[（( ]|为|是)?(?:(?P<rname>{_SURNAME_RE}(?:(?!先生|女士|小姐|老师|师傅)[\u4e00-\u9fa5]){{1,2}}?)"
              rf"(?={_AFTER_BARE_NAME})|(?P<rname3>{_SURNAME_RE}(?:(?!先生|女士|小姐|老师|师傅)[\u4e00-\u9fa5]){{2}}))")
_LABEL_NAME = (rf"(?P<labelled>{_trie(_NAME_LABELS)}[:：\s\"“「]{{0,2}}(?:是|为|叫)?[\"“「]?|姓名[，,])"
               # (a two-character name padded to the width of three in forms and replies: 承办人：薛　勇)
               rf"(?P<lname>{_SURNAME_RE}(?:[ \u3000]{{1,2}}[\u4e00-\u9fa5](?![\u4e00-\u9fa5])|[\u4e00-\u9fa5]{{1,2}}))")
_PII_PATTERN = "|".join(
    [
        # (version 8: a Chinese mailbox or domain, 李娜@公司.中国, hr@郑州宏达.cn, and 。 typed for the dot)
        r"(?P<email>(?<![A-Za-z0-9._%+\-])(?:[A-Za-z0-9][A-Za-z0-9._%+\-]*|[\u4e00-\u9fa5]{1,4})@"
        r"[A-Za-z0-9\-\u4e00-\u9fa5]+(?:[.。][A-Za-z0-9\-\u4e00-\u9fa5]+)*[.。](?:[A-Za-z]{2,}|中国|公司|网络)"
        r"(?![A-Za-z0-9\-]))",
        rf"(?P<code18>(?<![0-9A-Za-z])\d{{8}}[{_CODE}]{{10}}(?![0-9A-Za-z]))",
        r"(?P<id15ctx>(?:身份证|证件)(?:号码|号)?[:：\s]{0,2}(?:是|为)?)(?:(?P<id18l>[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx])|(?P<id15>[1-9]\d{5}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}))(?![0-9A-Za-z])",
        r"(?P<bankctx>(?:卡号|银行卡|银行账号|账号|帐号|储蓄卡|信用卡|[建农工中交招]行卡)[:：\s是为]{0,2})(?P<bankl>[3-6]\d{3}(?:[ \-]?\d{4}){2}[ \-]?\d{4}(?:[ \-]?\d{1,3})?)(?![0-9])",
        r"(?P<bank>(?<![0-9])62\d{2}(?:[ \-]?\d{4}){2}[ \-]?\d{4}(?:[ \-]?\d{1,3})?(?![0-9]))",
        # (version 8: 139.3712.6688, 138—3712—5577, 138 - 3712 - 5577, (150)3712 8899, 1 3 8 3 7 …, 013837125577)
        rf"(?P<mobile>(?<![0-9+])(?:(?:\+|00)?86[ \-]?)?(?:0?1[3-9]\d(?:{_SEP}\d{{4}}){{2}}|\(1[3-9]\d\)[ ]?\d{{4}}{_SEP}\d{{4}}"
        r"|1 [3-9](?: \d){9})(?![0-9]))",
        rf"(?P<landline>(?<![0-9])(?:\({_AREA}\)[ \-]?[1-9]\d{{6,7}}|{_AREA}{_LSEP}[1-9]\d{{6,7}}|{_AREA}[2-9]\d{{6,7}}"
        rf"|\(?{_AREA}\)?{_LSEP}?[2-9]\d{{3}}{_LSEP}\d{{4}}|(?<![0-9+])(?:\+|00)86{_LSEP}?{_AREA[1:]}{_LSEP}[2-9]\d{{6,7}}){_EXT}(?![0-9]))",
        # a 7-8 digit number after a phone label (not 发票号码, 合同号码, 订单号码 …)
        r"(?P<lphonectx>(?:电话|手机|座机|联系方式|(?<!发票|票据|合同|订单|运单|快递|单据|证件|车牌|账户|编号|批次|房屋)号码)[:：\s是为]{0,2})"
        r"(?P<lphone>[2-9]\d{6,7})(?![0-9])",
        rf"(?P<titled>(?P<tname>{_SURNAME_RE}[\u4e00-\u9fa5]{{0,2}}?){_trie(_TITLES)})",
        # A name with no label or title (no rule sees every one; these two shapes are common in 12345
        # orders and letters): after a person's role (业主孙志强反映, 其丈夫李强在工地, 包工头王大明不赔偿) …
        _ROLE_NAME,
        # … and opening a sentence before a reporting verb (刘洋反映：…, 。张伟来电称…)
        rf"(?P<openctx>^|[，,。！？!?；;：:\s])(?P<oname>{_SURNAME_RE}[\u4e00-\u9fa5]{{1,2}}?)"
        r"(?=反映|来电|投诉|举报|称|表示|说|所反映|所述|所称|名下|老人|家长|本人|一家|夫妇|夫妻)",
        # 姓王的女士, 物业经理姓陈，: a surname named on its own
        rf"(?P<xingctx>(?<![百同])姓)(?P<xname>{_SURNAME_RE})(?=的|[，,。、；;：:\s）)]|$|女士|先生|小姐|老师|师傅|经理|主任|同志|警官)",
        _LABEL_NAME,
        # 房号: the unit and flat of a home (3单元1502, 号楼1502室, 房号是1502); the building stays
        # (a count or an area after the building is no flat: 3号楼120平方米, 3栋300户, 1单元120户居民);
        # 12-3-502 is building-unit-flat
        r"(?P<room>(?<![0-9])\d{1,2}单元\d{1,4}(?:室|号)?(?![0-9户套人元万米平㎡间个辆家名多余亩吨年次])"
        r"|(?:号楼|栋|幢|座|房号是|房号为|房号)\d{3,4}(?:室|号)?(?![0-9户套人元万米平㎡间个辆家名多余亩吨年次])"
        r"|(?<![0-9])\d{3,4}室(?![内外厅])"
        r"|(?<![0-9\-./:年月])\d{1,2}-\d{1,2}-\d{3,4}(?![0-9\-./:]))",
    ]
)
_PII_RE = re.compile(_PII_PATTERN)
# The two role rules alone (for a role that is also a title: 站长陈军惠 after 质监站长 was matched as a title).
_ROLE_RE = re.compile(_ROLE_NAME)
_LABEL_RE = re.compile(_LABEL_NAME)
# Full-width digits, letters and symbols → ASCII, one character for one, so spans stay valid.
_SCAN_TABLE = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_SURNAME_FULL = re.compile(_SURNAME_RE)
_SURNAME_AT = re.compile(_SURNAME_RE)


@lru_cache(maxsize=1)
def _validators():  # type: ignore[no-untyped-def]
    from stdnum.cn import ric, uscc

    return ric, uscc


# Province-level codes (GB/T 2260): the first two digits of an ID number. Checking them keeps most
# random 18-digit numbers out.
_PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)


def is_valid_id_number(value: str | None) -> bool:
    """An 18-character 居民身份证号 (GB 11643): province code, real birth date, valid check digit.

    The check digit comes from ``stdnum.cn.ric``; the county code is not looked up in stdnum's table
    (new codes appear every year, and a real number missing from a table must still be masked).
    """
    if not value:
        return False
    ric, _ = _validators()
    code = str(value).strip().upper()
    if not re.fullmatch(r"[1-9]\d{16}[\dX]", code) or code[:2] not in _PROVINCE_CODES:
        return False
    try:
        born = ric.get_birth_date(code)  # raises on an impossible date
        return born.year >= 1900 and ric.calc_check_digit(code) == code[17]
    except Exception:  # stdnum raises ValidationError subclasses
        return False


def _valid_id15(code: str) -> bool:
    """A first-generation 15-digit 身份证号: province code and a real birth date 19YYMMDD at digits 7–12
    (``stdnum.cn.ric.get_birth_date`` reads an 18-digit layout and rejected most real ones)."""
    if code[:2] not in _PROVINCE_CODES:
        return False
    try:
        dt.date(1900 + int(code[6:8]), int(code[8:10]), int(code[10:12]))
    except ValueError:
        return False
    return True


def _mistyped_id(code18: str) -> bool:
    """An 18-digit number shaped like a 身份证号 with a wrong check digit: province code, and a birth date
    of somebody at least ten years old. Order and serial numbers that start with a region code carry
    the date they were made (410100 20261029 0001), which is no birth date of a caller."""
    if code18[:2] not in _PROVINCE_CODES or not code18[:17].isdigit():
        return False
    try:
        born = dt.date(int(code18[6:10]), int(code18[10:12]), int(code18[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= dt.date.today().year - 10


def _valid_birth(code18: str) -> bool:
    """An 18-digit 身份证号 whose birth date (digits 7–14) is a real date from 1900 on."""
    try:
        return dt.date(int(code18[6:10]), int(code18[10:12]), int(code18[12:14])).year >= 1900
    except ValueError:
        return False


@lru_cache(maxsize=1)
def _common_words() -> dict[str, str]:
    """2–3 character words of jieba's dictionary that are common (frequency ≥ 500, or ≥ 50 and not
    tagged as a person's name): 语文, 保安, 任课, 马上, 高度, 陈述, 多次. A surname character that forms
    such a word with its neighbour is part of that word, not a name (语文老师, 负责人马上安排)."""
    import jieba

    words: dict[str, str] = {}  # word → jieba's part-of-speech tag
    with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 2 or not 2 <= len(parts[0]) <= 3:
                continue
            freq, tag = int(parts[1]), (parts[2] if len(parts) > 2 else "")
            if freq >= 500 or (freq >= 50 and not tag.startswith("nr")):
                words[parts[0]] = tag
            elif freq >= 300:  # jieba tags some frequent words as names (钱财 nr 337): see _bare_word
                words[parts[0]] = "frequent-nr"
    return words


@lru_cache(maxsize=1)
def _idioms() -> frozenset[str]:
    """Four-character words of jieba's dictionary (成语 and set phrases: 高抬贵手, 何去何从) that a role and a
    surname character can run into."""
    import jieba

    with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as fh:
        return frozenset(w for line in fh if len(w := line.split(" ", 1)[0]) == 4)


def _given_is_word(given: str) -> bool:
    """A would-be given name that is a common word of another kind than a name, place or time word:
    吴|回复, 向|领导, 业主方|实际 (建国, 国庆, 和平 are given names too and stay possible)."""
    tag = _common_words().get(given)
    return tag is not None and not tag.startswith(("nr", "ns", "nz", "t", "frequent-nr"))


def preload() -> None:
    """Load what masking reads lazily (jieba's dictionary words, 0.2 s) now: call it in a parent
    process before forking workers, so they share it instead of each loading it."""
    _common_words()
    _idioms()


def _in_word(scan: str, s: int, e: int) -> bool:
    """Whether the candidate name ``scan[s:e]`` is (or starts) a common word, or its surname ends one
    with the character before it (语文|老师 → 文 is no surname here)."""
    return _is_common(scan[s:e]) or (e - s <= 2 and _is_common(scan[s:s + 2])) or (s > 0 and _is_common(scan[s - 1:s + 1]))


def _is_common(word: str) -> bool:
    tag = _common_words().get(word)
    return tag is not None and tag != "frequent-nr"


def _org_code_ok(code: str) -> bool:
    """Characters 9-17 of an issued credit code are a 组织机构代码 with its own GB 11714 check digit."""
    body, check = code[8:16], code[16]
    try:
        total = sum(w * int(c, 36) for w, c in zip((3, 7, 9, 10, 5, 8, 4, 2), body, strict=True))
    except ValueError:
        return False
    expected = 11 - total % 11
    return check == {10: "X", 11: "0"}.get(expected, str(expected))


def is_valid_credit_code(value: str | None) -> bool:
    """A 统一社会信用代码 with a valid check character (GB 32100-2015, ``stdnum.cn.uscc``).

    An all-digit candidate passes the final check by chance once in 31, so for it the embedded
    organisation code must check too (GB 11714) — this keeps 18-digit order numbers out.
    """
    if not value:
        return False
    _, uscc = _validators()
    code = re.sub(r"[\s\-]", "", str(value)).upper()
    if not uscc.is_valid(code):
        return False
    return not code.isdigit() or _org_code_ok(code)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _iter_pii(text: str) -> Iterable[PiiMatch]:
    """Every match, left to right and non-overlapping: the main pattern's, then the extra passes of
    version 8 (names joined to a name or written before a phone, numbers with separators, plates,
    WeChat/QQ ids, passports, phones in Chinese numerals) where they do not overlap them."""
    scan = text.translate(_SCAN_TABLE)
    found = list(_iter_main(text, scan))
    if not _ANY_EXTRA_GATE.search(scan) and not any(
            m.kind in ("person_name", "mobile", "landline") for m in found):
        return found
    extra = list(_iter_extra(text, scan, found))
    out = _non_overlapping(found + extra) if extra else found
    again = list(_bracketed_names(text, scan, out))
    if again:
        out = _non_overlapping(out + again)
    again = list(_repeated_names(text, out))  # (version 9) 包工头宋德义 … 付给了宋德义
    return _non_overlapping(out + again) if again else out


def _bracketed_names(text: str, scan: str, found: list[PiiMatch]) -> Iterable[PiiMatch]:
    """A full name in brackets right after a found name or nickname (代办员小杜（杜亚楠）; version 9)."""
    for m in found:
        if m.kind == "person_name" and (j := _BRACKETED_NAME.match(scan, m.end)) and _bare_name_ok(
                scan, j.start(1), j.end(1), given_may_be_word=True):
            yield PiiMatch("person_name", j.start(1), j.end(1), text[j.start(1):j.end(1)])


def _non_overlapping(matches: list[PiiMatch]) -> list[PiiMatch]:
    """Left to right, the longer first where two start together; a match overlapping a kept one is dropped."""
    out: list[PiiMatch] = []
    for m in sorted(matches, key=lambda m: (m.start, -(m.end - m.start))):
        if not out or m.start >= out[-1].end:
            out.append(m)
    return out


def _repeated_names(text: str, found: list[PiiMatch]) -> Iterable[PiiMatch]:
    """Every other place a found full name is written (a name masked once and left in clear three words
    later made the mask useless: 民警闫** … 闫晓东于当日; 王红梅便利店（经营者：王**）)."""
    names = {m.value for m in found if m.kind == "person_name" and len(m.value) >= 2
             and not m.value.endswith(_TITLES) and m.value[-1] not in _SHORT_TITLES and " " not in m.value
             and "\u3000" not in m.value}
    for name in names:
        pos = text.find(name)
        while pos >= 0:
            yield PiiMatch("person_name", pos, pos + len(name), name)
            pos = text.find(name, pos + len(name))


def _iter_main(text: str, scan: str) -> Iterable[PiiMatch]:
    # A candidate that its checks refuse gives way to a match starting inside it: 医生|龚主任 is no bare
    # name after the role 医生, and the search goes on at 龚 (finditer would resume after 龚主任 and
    # lose the titled name).
    pos, n = 0, len(scan)
    while pos <= n:
        m = _PII_RE.search(scan, pos)
        if m is None:
            return
        got = list(_match_one(m, text, scan))
        if not got and m.lastgroup == "rname3" and (lab := _LABEL_RE.match(scan, m.start())):
            got = list(_match_one(lab, text, scan))  # 业主代表胡斌文: the label 业主代表, not the role 业主
        yield from got
        pos = max(m.end(), got[-1].end) if got else m.start() + 1


def _match_one(m: re.Match[str], text: str, scan: str) -> Iterable[PiiMatch]:
    if True:  # (the body of the former finditer loop)
        kind = m.lastgroup
        if kind == "landline" and _CODE_LABEL_BEFORE.search(scan, max(0, m.start() - 8), m.start()):
            return  # 发票代码044031900111, 编号037100012345: a number of a document, not a phone
        if kind == "mobile" and scan[m.end():m.end() + 1] in ("元", "万", "亿", "块", "美", "平", "吨", "人"):
            return  # 总投资13800000000元: an amount, not a phone
        if kind in ("email", "mobile", "landline"):
            yield PiiMatch(kind, m.start(), m.end(), text[m.start() : m.end()])
        elif kind == "code18":
            code = m.group()
            if is_valid_id_number(code):
                k = "id_card"
            elif is_valid_credit_code(code):
                k = "credit_code"
            elif any(c.isalpha() for c in code):
                k = "credit_code_invalid"
            elif _mistyped_id(code):
                k = "id_card"  # a province, a birth date and a wrong check digit: a mistyped ID number
            else:
                return  # an 18-digit number that is neither: an order number, a serial …
            yield PiiMatch(k, m.start(), m.end(), text[m.start() : m.end()])
        elif kind == "id15":  # (lastgroup names the last group that closed: the value, not the label)
            if _valid_id15(m.group("id15")):
                s, e = m.span("id15")
                yield PiiMatch("id_card", s, e, text[s:e])
        elif kind == "id18l":  # after 身份证号: an 18-digit number with a typo in its check digit too
            s, e = m.span("id18l")
            if m.group("id18l")[:2] in _PROVINCE_CODES and _valid_birth(m.group("id18l")):
                yield PiiMatch("id_card", s, e, text[s:e])
        elif kind in ("bank", "bankl"):
            s, e = m.span(kind)
            digits = re.sub(r"\D", "", scan[s:e])
            if len(digits) in (16, 17, 19) and _luhn(digits):
                yield PiiMatch("bank_card", s, e, text[s:e])
        elif kind == "lphone":
            s, e = m.span("lphone")
            yield PiiMatch("landline", s, e, text[s:e])
        elif kind == "titled":
            # The name may start later than the match: 冲向唐女士 (冲向 is a word: 唐 is the surname).
            s, e = m.span("tname")
            for start in range(s, e):
                if start == s or _SURNAME_AT.match(scan, start, e):
                    if _titled_name_ok(scan, start, e):
                        yield PiiMatch("person_name", start, m.end(), text[start : m.end()])
                        break
            # a title that is also a role, then a name (质监站长陈军惠): the role rules, from the title
            if (r := _ROLE_RE.match(scan, e)) and r.end() > m.end():
                yield from (x for x in _match_one(r, text, scan) if x.start >= m.end())
        elif kind in ("rname", "oname"):
            s, e = m.span(kind)
            if _bare_name_ok(scan, s, e, role=kind == "rname") or (kind == "rname" and _bracketed_after_role(scan, s, e)):
                yield PiiMatch("person_name", s, e, text[s:e])
        elif kind == "rname3":
            # Nothing after the name confirms it: only the most common surnames, no title character in the
            # given name (老板贺姐口气), and its last character must not start a word with the next one
            # (人员申领机动车, 客户高青升级: the candidate runs into the next word).
            s, e = m.span(kind)
            k = 2 if _compound_at(scan, s) else 1
            if scan[e - 1] in _NOT_GIVEN_3RD or scan[s:s + 4] in _idioms() or scan[s - 1] in "是为":
                # (老板是邵阳隆回人: after 是/为 only a name that what follows confirms, the rolectx rule)
                return  # 业主付钱但, 交警高抬贵手 (a two-character name is the rolectx rule's, with what follows it)
            given = scan[s + k:e]
            if (k == 2 or scan[s] in _STRONG_SURNAMES) and not any(c in _SHORT_TITLES for c in given) and (
                    _role_given_ok(given)) and not _is_common(scan[e - 1:e + 1]) and _bare_name_ok(scan, s, e, role=True):
                yield PiiMatch("person_name", s, e, text[s:e])
        elif kind == "xname":
            s, e = m.span("xname")
            yield PiiMatch("person_name", s, e, text[s:e])
        elif kind == "room":
            yield PiiMatch("room", m.start(), m.end(), text[m.start() : m.end()])
        elif kind == "lname":
            s, e = m.span("lname")
            if e - s == 3 and not _compound_at(scan, s) and (scan[e - 1] in _NOT_GIVEN_3RD or (
                    (tag := _common_words().get(scan[e - 1:e + 1])) and tag.startswith(("p", "d", "c")))):
                e -= 1  # (投诉人薛明通过仲裁: 通过 is a preposition, the name is 薛明)
            label = m.group("labelled")
            verb_label = label.startswith(_VERB_LABELS)
            if scan[s] == "于" and (scan[s + 1] in _YU_TIME_STARTS or scan[s + 1].isdigit() or (
                    verb_label and _is_common(scan[s + 1:s + 3]))):
                return  # 本人于近期…, 申请人于2026年…, 来电人于近日: the preposition (我是于海波，is a name)
            if _place_like(scan, s, e) or (not _compound_at(scan, s) and _function_word(scan[s + 1:e])):
                return  # 来电人是高新区, 投诉人为周边居民, 举报人曾多次: a place or a word, not a name
            if label[-1] in "是为叫" and s > 0 and _is_common(scan[s - 1:s + 1]):
                return  # 负责人为何没有: 为何, not 为 + 何某
            if e - s == 3 and not _compound_at(scan, s) and _REPORTING_AFTER.match(scan, e - 1):
                e -= 1  # 负责人陆军表示: the name is 陆军
            confirmed = bool(_REPORTING_AFTER.match(scan, e))  # 负责人陆军表示, 特邀监督员朱红梅反映
            if not confirmed and verb_label and not _compound_at(scan, s) and _is_common(scan[s:s + 2]):
                return  # 负责人高度重视, 负责人马上安排, 当事人陈述, 本人常年在外 (a name that is a word, 高峰, is lost)
            if not confirmed and not _compound_at(scan, s) and any((tag := _common_words().get(scan[s:s + n])) and not tag.startswith(
                    ("nr", "frequent-nr")) for n in (3, 2)) or scan[s:s + 4] in _idioms() or (
                    label.endswith("名") and _is_common(scan[s - 1:s + 1])):
                return  # (version 9) 已向来电人解释, 来电人车辆, 来电人房屋漏水, 联系人方面, 签字全过程, 队员安安心心,
                # 户名单 (名单): a word, not a name
                # (names that jieba knows as names stay: 来电人高峰, 联系人白雪)
            if label.endswith("叫") and _is_common(scan[s - 1:s + 1]):
                return  # 叫车, 叫停: a word, not 叫 + a name
            if scan[s] == "向" and not re.match(r"[，,。；;、）)\s]|$", scan[e:e + 1]):
                return  # 签名向街道反映, 负责人向记者介绍: the preposition (向 + a name only before a stop)
            if scan[s:s + 2] in _NOT_LABELLED_NAMES:
                return  # 户主代表大会, 申请人代理 …
            if _PLACE_AFTER_NAME.match(scan, e):
                return  # 来电人是黄河花苑的租户, 联系人是王府井商场的经理: a place, not a name
            if label.endswith(("，", ",")) and scan[s:s + 2] in _FORM_FIELDS:
                return  # 姓名，单位，电话: a list of form fields, not a name
            if label.startswith("我是") and (scan[s:e] in _NOT_SELF_NAMES or scan[s:e].endswith(_ROLE_ENDINGS)):
                return
            if label.startswith(_WEAK_LABELS) or label.endswith(("，", ",")):
                while e - s >= 2 and not _AFTER_WEAK_LABEL.match(scan, e):
                    e -= 1
                if e - s < 2:
                    return
            yield PiiMatch("person_name", s, e, text[s:e])


def _bracketed_after_role(scan: str, s: int, e: int) -> bool:
    """房东（宁秀珍）, 其儿子（龚子墨，14岁）: a role, then a name alone in brackets — any surname will do."""
    k = 2 if _compound_at(scan, s) else 1
    return (s > 0 and scan[s - 1] in "（(" and scan[e:e + 1] in ("）", ")", "，", ",") and e - s - k in (1, 2)
            and _given_is_word(scan[s + k:e]) is False and not _is_common(scan[s:e]) and not _place_like(scan, s, e))


def _titled_name_ok(scan: str, s: int, e: int) -> bool:
    """Whether ``scan[s:e]`` (before a title) is a surname and given name, not part of a word."""
    if scan[s] == "于" and s > 0 and scan[s - 1] in _YU_WORDS:
        return False  # 关于老师
    if s >= 2 and _is_common(scan[s - 2:s + 1]):
        return False  # 健身房教练: 房 ends 健身房
    k = 2 if _compound_at(scan, s) else 1
    if e - s >= 2 and not _compound_at(scan, s) and _is_common(scan[s:s + 2]):
        return False  # 尤其何科长, 项目经理: 尤其 and 项目 are words (a later start is tried)
    if scan[s] == "向" or (e < len(scan) and scan[e - 1] == scan[e]):
        return False  # 特向局长反映 (the preposition); 管理科科长, 房产局局长 (the office, then its head)
    if any(c in _NOT_IN_TITLED_NAME for c in scan[s + k : e]) or (k == 1 and _in_word(scan, s, e)):
        return False  # 郑州的老师, 金水区老师; 语文老师, 安装师傅, 保安师傅, 许多老师
    return scan[s:e] not in _NOT_NAMES and scan[s + k : e] not in _NOT_GIVEN_WORDS


def _function_word(given: str) -> bool:
    """A would-be given name that is a numeral, preposition, conjunction or the like (曾|多次):
    unlike nouns and verbs (建平, 建国), never a given name."""
    tag = _common_words().get(given)
    return tag is not None and tag.startswith(("m", "p", "c", "u", "r", "q", "f"))


def _short_title_ok(scan: str, s: int, end: int) -> bool:
    """张总, 刘工, 王姐: a surname and a one-character title, not a word (施工, 童工, 帅哥, 包工头), not the
    start of one (李总是 → 总是, 付工资 → 工资), not inside one (有关, 主管); followed by what follows a
    person (张总说, 找刘工，)."""
    if scan[s] == "于" or scan[s:end] in _NOT_SHORT_TITLED or (s > 0 and _is_common(scan[s - 1:s + 1])):
        return False
    if not _AFTER_SHORT_TITLE.match(scan, end):
        return False
    if _is_common(scan[s:end]) or _is_common(scan[s:end + 1]) or _is_common(scan[end - 1:end + 1]):
        return False
    return not (s > 0 and "\u4e00" <= scan[s - 1] <= "\u9fa5" and _is_common(scan[s - 1:end]))


def _place_like(scan: str, s: int, e: int) -> bool:
    """Whether a would-be name ``scan[s:e]`` is the start of a place or a collective noun: a place
    ending inside it or right after it (高新区, 郑东新区, 李寨村, 周边居民, 万达广场, 华润万家超市)."""
    return any(_PLACE_TAIL.match(scan, p) for p in range(s + 1, e + 1)) or bool(_PLACE_AFTER_NAME.match(scan, e))


# Parts of speech a given name shares with words (海军, 富贵, 春生, 文华: nouns, adjectives, names, places): after a
# role they are names; verbs, adverbs and function words after a role are not (业主回复称, 员工计发).
_GIVEN_NAME_TAGS = ("n", "a", "t", "j", "frequent-nr")
_NOT_GIVEN_NAME_TAGS = ("nt", "ad", "vn")


def _role_given_ok(given: str) -> bool:
    tag = _common_words().get(given)
    return tag is None or (tag.startswith(_GIVEN_NAME_TAGS) and not tag.startswith(_NOT_GIVEN_NAME_TAGS))


def _bare_name_ok(scan: str, s: int, e: int, given_may_be_word: bool = False, role: bool = False) -> bool:
    """A name with no label or title (after a role, opening a sentence, joined to a name, before a phone):
    a common surname and a given name that is no word, place, pronoun or job (``given_may_be_word``: a
    given name that is a noun, 建军, is allowed where the context is strong, right before a phone)."""
    k = 2 if _compound_at(scan, s) else 1
    name = scan[s:e]
    if (k == 1 and scan[s] not in _BARE_SURNAMES) or "某" in name or any(
            c in _NOT_IN_TITLED_NAME or c in _PRONOUNS for c in name[k:]) or name[k:] in _NOT_GIVEN_WORDS:
        return False  # 向您反映, 王某反映, 业主房款: no name
    if k == 1 and (_in_word(scan, s, e) or (not given_may_be_word and (
            name in _common_words() or name[:2] in _common_words() or (
                not _role_given_ok(name[k:]) if role else _given_is_word(name[k:]))))):
        return False  # 高新区反映, 方面反映, 车主称, 企业主管部门, 吴回复称, 业主方实际 (frequent words tagged as names too: 老板钱财)
    return not _place_like(scan, s, e)  # 李寨反映, 黄岗寺来电: villages


# --- extra passes (masking version 8) -----------------------------------------------------------
_CN_DIGITS = "〇零一二三四五六七八九幺两"
_CN_DIGIT_VALUE = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")} | {"零": "0", "幺": "1", "两": "2"}
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_JOINED_NAME = re.compile(rf"[、和与及跟]({_SURNAME_RE}[\u4e00-\u9fa5]{{1,2}}?)(?=[、和与及跟]|{_AFTER_BARE_NAME})")
# A list of names (version 9): 涉及张伟、李娜、王磊、刘洋、陈静五人; 韦晓丹、覃海波两位同志; three or more names joined
# by 、 with nothing else, or two and more followed by a head count (两人, 等5人, 两位同志, 等人).
_NAME_ITEM = rf"{_SURNAME_RE}[\u4e00-\u9fa5]{{1,2}}?"
_NAME_LIST = re.compile(rf"(?P<items>{_NAME_ITEM}(?:、{_NAME_ITEM})+)(?:等?[0-9一二两三四五六七八九十]+(?:人|位|名)|等人|等同志|同志)"
                        rf"|(?P<items3>{_NAME_ITEM}(?:、{_NAME_ITEM}){{1,}}、{_SURNAME_RE}[\u4e00-\u9fa5]{{1,2}})")
# Names in Latin letters inside Chinese text (version 9): a pinyin surname with a given name (Zhou Pengfei,
# ZHANG XIAOLI, Lisa Zhang) or a common English given name with a surname (Michael Johnson, Tony Wang).
_PINYIN_SURNAMES = frozenset(
    "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng liang xie song tang "
    "han feng deng cao peng zeng xiao tian dong yuan pan jiang cai yu du ye cheng su wei lv lu ding ren shen yao "
    "cui zhong tan fan jin shi liao jia xia fu bai zou meng xiong qin qiu yin xue yan duan lei hou long tao gu mao "
    "hao gong shao qian kong chang qiao lai pang yi niu ge geng qi kang wen cheung chan wong lee leung ng tsang "
    "chow lau lam kwok yip ho tse".split())
_ENGLISH_GIVEN = frozenset(
    "tony michael lisa david jason amy kevin jack john mary linda james robert william richard thomas mark steven "
    "paul daniel peter eric alex alice anna emma grace helen jessica jennifer susan sarah kate lily lucy nancy "
    "rose sophia vivian cindy sandy wendy judy joyce irene iris jenny coco cherry angela annie betty bella "
    "frank george henry jerry leo louis martin mike nick oliver ryan sam simon sunny tom vincent andy bruce "
    "calvin eddie edward allen alan ben bill bob brian charles chris dennis derek felix gary ivan jay ken kenny "
    "larry max neil ray roger ross sean terry victor wayne zoe amanda ella eva fiona gloria hannah ivy jane "
    "joanna karen kelly laura maggie mandy monica nina olivia rachel sally shirley stella tina tracy yvonne "
    "carol catherine christina claire diana elaine elena jasmine julia june katherine kitty mia michelle".split())
# Places and brands written in two words that would read as a surname and a name.
_NOT_LATIN_NAMES = frozenset(["hong kong", "li ning", "zheng zhou", "he nan", "bei jing", "shang hai", "xi an",
                              "tian jin", "nan jing", "wu han", "su zhou", "guang zhou", "chang sha", "he fei"])
_LATIN_NAME = re.compile(r"(?<![A-Za-z0-9@._\-])([A-Z][a-z]{1,11}|[A-Z]{2,12})[ ]([A-Z][a-z]{1,11}|[A-Z]{2,12})"
                         r"(?![A-Za-z0-9@\-]|\.[A-Za-z])")
_PINYIN_SYLLABLES = re.compile(
    r"(?:(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?(?:iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan|ai|ei|ao|ou|an|en|in|"
    r"un|ia|ie|iu|ua|uo|ui|ue|ve|er|a|o|e|i|u|v))+")
# A transliterated name (维吾尔族、藏族、外籍): two parts joined by a middle dot, written in characters
# used for sounds (阿依古丽·买买提, 努尔艾力•吐尔逊); not an estate or a brand (建业·天筑).
_TRANSLITERATED = re.compile(r"[\u4e00-\u9fa5]{2,8}[·•・][\u4e00-\u9fa5]{2,8}")
_SOUND_CHARS = frozenset(
    "阿依古丽买提努尔艾力吐逊热合曼江拉克木斯夫汗巴哈亚麦尼孜沙吾穆罕默德伊布都玛迪娜帕再西卡米托洪库班图其格乌兰吉日嘎希"
    "艾买尔娅莎丁赛买热依木拉衣萨达塔里甫吾斯曼夏提达吐鲁甫阿卜杜赫尼亚扎西多吉格桑卓次仁旺堆央金拉姆顿珠平措索朗"
    "约翰史密斯玛丽安东尼彼得保罗汤姆杰克琳达莉莎大卫威廉姆爱德华乔治亨利查理詹姆罗伯特迈克尔逊森奥维奇诺夫娃")
_LIST_GATE = re.compile(rf"、[{''.join(sorted(_BARE_SURNAMES))}]")
_BRACKETED_NAME = re.compile(rf"[（(]({_SURNAME_RE}[\u4e00-\u9fa5]{{1,2}})[）)，,]")
_LATIN_NAME_GATE = re.compile(r"[A-Z][A-Za-z]{1,11} [A-Z]|[·•・]")
_HAS_CJK = re.compile(r"[\u4e00-\u9fa5]")
_SECOND_NUMBER = re.compile(r"[、/,，或和]\s?(1[3-9]\d{9}|[2-9]\d{6,7})(?![0-9])")
_NAME_BEFORE_PHONE = re.compile(
    rf"(?:^|[，,。；;：:\s（(！!？?]|联系人?|找)(?P<n>{_SURNAME_RE}[\u4e00-\u9fa5]{{1,2}}?)[\s:：,，（(]*"
    r"(?:联系电话|电话|手机|联系方式)?[:：\s]*$")
_EXTRA_RE = re.compile("|".join([
    # an ID number or credit code written in groups (4101 0219 9003 0712 39, 9141 0102 MA46 C8QW 0U)
    r"(?P<idsep>(?<![0-9A-Za-z])[1-9](?:[ \-]?\d){16}[ \-]?[0-9Xx](?![0-9A-Za-z]))",
    rf"(?P<ccsep>(?<![0-9A-Za-z])[0-9A-Za-z](?:[ \-]?[{_CODE}]){{17}}(?![0-9A-Za-z]))",
    # a licence plate (车牌): 豫A12345, 豫A·8K2M9, 豫AD12345
    rf"(?P<plate>(?<![A-Za-z0-9])[{_PROVINCES}](?:[A-HJ-NP-Z][·•・ ]?(?=[A-HJ-NP-Z0-9]{{5,6}}(?![A-Za-z0-9]))"
    r"(?=[A-Z]*\d)[A-HJ-NP-Z0-9]{5,6}|[a-hj-np-z][·•・ ]?(?=[a-hj-np-z0-9]{5,6}(?![A-Za-z0-9]))(?=[a-z]*\d)[a-hj-np-z0-9]{5,6})"
    r"(?![A-Za-z0-9]))",  # (lower case as typed in a hurry: 豫a88k61; version 9)
    # an ID number inside a longer number (残疾人证号 = ID + 2 digits; 学籍号 = G + ID; version 9)
    r"(?P<idin>(?<![0-9A-Za-z])[A-Za-z]?(?P<idcore>[1-9]\d{16}[0-9Xx])\d{0,2}(?![0-9A-Za-z]))",
    # a house number in a village (张庄村三组43号, 小马庄村5组17号): the rural equivalent of a flat
    r"(?P<househ>(?<=[村组庄寨屯])\d{1,4}号(?![楼院地线路仓库厂门栋幢座]))",
    # a name signed alone on its line under a reply (东风渠街道办事处\n孟凡超\n2025年10月12日) or after a dash
    rf"(?P<signctx>\n[ \t\u3000]*|——[ \u3000]?)(?P<sign>{_SURNAME_RE}[\u4e00-\u9fa5]{{1,2}})(?=[ \t\u3000]*(?:\n|$))",
    # WeChat and QQ ids after their label (a phone number there is found as a phone)
    r"(?P<imctx>(?:微信号?|微信ID|vx|VX|wx|WX|QQ号?|qq号?|Q号|抖音号|抖音ID|快手号|小红书号|微博号?|WeChat|Wechat|wechat)[:：\s（(]{0,2}(?:是|为)?\s?)"
    r"(?P<im>[A-Za-z][A-Za-z0-9_\-.]{4,19}[A-Za-z0-9_]|[1-9]\d{4,10})(?![A-Za-z0-9_\-])",
    # passports and travel permits after their label
    r"(?P<ppctx>(?:护照|通行证|台胞证|回乡证)(?:号码|号)?[:：\s]{0,2}(?:是|为)?\s?)"
    r"(?P<pp>[A-Za-z]{1,2}\d{7,9}|\d{8,10})(?![A-Za-z0-9])",
    # 张总, 刘工 (a one-character title) and 老赵, 小杨 (a surname called by its prefix; the surname is
    # masked, 老/小 stay): an extra pass, so that a role or a label at the same place wins (包工头黄俊)
    # (the surname by a one-character look-behind, not _SURNAME_RE's alternation tried at every position;
    # a compound surname before the title is found in code)
    rf"(?P<short>(?<=[{''.join(sorted(set(_SINGLE_SURNAMES)))}])[{_SHORT_TITLES}])",
    rf"(?P<nickctx>[老小])(?P<nick>[{''.join(sorted(_BARE_SURNAMES))}])(?={_AFTER_BARE_NAME}|每天|帮|让|养|拖)",
    # a mobile in Chinese numerals, also mixed with digits (一三八一二三四五六七八, 138三七一二5577)
    rf"(?P<cnmobile>(?<![0-9{_CN_DIGITS}])[1一幺][3-9三四五六七八九](?:[ \-]?[0-9{_CN_DIGITS}]){{9}}(?![0-9{_CN_DIGITS}]))",
]))
# (a look-behind at one character class, not _SURNAME_RE's alternation: the gate runs on every text)
_SURNAME_CHARS = "".join(sorted(set(_SINGLE_SURNAMES) | {c[-1] for c in _COMPOUND_SURNAMES}))
_EXTRA_GATE = re.compile(rf"(?<=[{_SURNAME_CHARS}])[{_SHORT_TITLES}]|[老小][{''.join(sorted(_BARE_SURNAMES))}]|[0-9A-Za-z]{{4,}}[ \-][0-9A-Za-z]{{4}}|[{_PROVINCES}][A-Za-z]|微信|QQ|qq|vx|VX|wx|WX|Q号|抖音|快手号|小红书号|微博|[Ww]e[Cc]hat|护照|[A-Za-z]\d{{17}}|\d{{19}}|\d{{14,17}}[ \-][0-9Xx]|[村组庄寨屯][0-9]|(?:\n[ \t\u3000]*|——[ \u3000]?)[{_SURNAME_CHARS}][\u4e00-\u9fa5]{{1,3}}[ \t\u3000]*(?:\n|$)|通行证|台胞证|回乡证|[一幺][三四五六七八九][{_CN_DIGITS}]")
# (one scan for the three gates of the extra passes)
_ANY_EXTRA_GATE = re.compile(_EXTRA_GATE.pattern + "|" + _LIST_GATE.pattern + "|" + _LATIN_NAME_GATE.pattern)


def _iter_extra(text: str, scan: str, found: list[PiiMatch]) -> Iterable[PiiMatch]:
    # names joined to a found name (督查员吴建平、谢美玲; 张建华与刘玉兰)
    for m in found:
        if m.kind != "person_name" or m.value.endswith(_TITLES):
            continue
        e = m.end
        # (after 、 a name may be a word too — 苏晓梅、魏国强夫妇; after 和/与 it is more often a place: 张三和王府井)
        while (j := _JOINED_NAME.match(scan, e)) and _bare_name_ok(scan, j.start(1), j.end(1),
                                                                   given_may_be_word=scan[j.start()] == "、"):
            yield PiiMatch("person_name", j.start(1), j.end(1), text[j.start(1):j.end(1)])
            e = j.end(1)
    # a name right before a phone number (李桂香13938129988, 联系：王建国 138…, 张丽（电话…）)
    for m in found:
        if m.kind not in ("mobile", "landline"):
            continue
        n = _NAME_BEFORE_PHONE.search(scan, max(0, m.start - 14), m.start)
        if n and _bare_name_ok(scan, n.start("n"), n.end("n"), given_may_be_word=True):
            yield PiiMatch("person_name", n.start("n"), n.end("n"), text[n.start("n"):n.end("n")])
        # … and a second number right after it (0371-65432198、65432199; 138…/139…)
        if (n2 := _SECOND_NUMBER.match(scan, m.end)):
            k2 = "mobile" if n2.group(1).startswith("1") else "landline"
            yield PiiMatch(k2, n2.start(1), n2.end(1), text[n2.start(1):n2.end(1)])
    if _LIST_GATE.search(scan):
        yield from _name_lists(text, scan)
    if _LATIN_NAME_GATE.search(scan):
        yield from _latin_names(text, scan)
    if not _EXTRA_GATE.search(scan):
        return
    for m in _EXTRA_RE.finditer(scan):
        kind = m.lastgroup
        s, e = m.span(kind)
        if kind == "idsep":
            code = re.sub(r"[ \-]", "", m.group()).upper()
            if code != m.group().upper() and (is_valid_id_number(code) or _mistyped_id(code)):
                yield PiiMatch("id_card", s, e, text[s:e])
        elif kind == "ccsep":
            code = re.sub(r"[ \-]", "", m.group()).upper()
            if code != m.group().upper() and is_valid_credit_code(code):
                yield PiiMatch("credit_code", s, e, text[s:e])
            elif code != m.group().upper() and re.fullmatch(rf"\d{{8}}[{_CODE}]{{10}}", code) and not code.isdigit():
                yield PiiMatch("credit_code_invalid", s, e, text[s:e])  # the shape, a letter, a typo in it
        elif kind == "plate":
            yield PiiMatch("plate", m.start(), m.end(), text[m.start():m.end()])
        elif kind == "im":
            yield PiiMatch("im_account", s, e, text[s:e])
        elif kind == "pp":
            yield PiiMatch("passport", s, e, text[s:e])
        elif kind == "short":
            s = m.start() - (2 if m.start() >= 2 and _compound_at(scan, m.start() - 2) else 1)
            if _short_title_ok(scan, s, m.end()):
                yield PiiMatch("person_name", s, m.end(), text[s:m.end()])
        elif kind == "nick":
            s, e = m.span("nick")
            word = scan[s - 1:e]
            tag = _common_words().get(word)
            if s >= 2 and (_is_common(scan[s - 2:s + 1]) or scan[s - 2] in "一二三两几这那每"):
                continue  # 养老金, 一小段: the 老/小 belongs to a word
            if word in ("老赖", "老总", "小钱", "老钱", "小金", "老金", "小白", "小计") or scan[e:e + 1] == scan[s]:
                continue  # 老赖 is a debtor, 老金 a pension; 小王王 …
            if tag is None or (tag == "n" and scan[s] in "张王李赵刘陈杨黄周吴马"):  # 小区, 小路, 老乡: words
                yield PiiMatch("person_name", s, e, text[s:e])
        elif kind == "idin":
            s, e = m.span("idcore")
            if m.group() != m.group("idcore") and (is_valid_id_number(scan[s:e].upper())):
                yield PiiMatch("id_card", s, e, text[s:e])
        elif kind == "househ":
            yield PiiMatch("room", s, e, text[s:e])
        elif kind == "sign":
            if _bare_name_ok(scan, s, e, given_may_be_word=True) or (
                    scan[s] in _SURNAME_CHARS and not _is_common(scan[s:e]) and not _place_like(scan, s, e)):
                yield PiiMatch("person_name", s, e, text[s:e])
        elif kind == "cnmobile" and any(c in _CN_DIGITS for c in m.group()):
            yield PiiMatch("mobile", s, e, text[s:e])


def _latin_names(text: str, scan: str) -> Iterable[PiiMatch]:
    """Names in Latin letters (:data:`_LATIN_NAME`) and transliterated names (:data:`_TRANSLITERATED`) in a
    Chinese text."""
    if "·" in scan or "•" in scan or "・" in scan:
        for m in _TRANSLITERATED.finditer(scan):
            # the run of sound characters on each side of the dot (其员工|阿依古丽·买买提|（新疆籍）)
            dot = m.start() + next(i for i, c in enumerate(m.group()) if c in "·•・")
            start, end = dot, dot + 1
            while start > m.start() and scan[start - 1] in _SOUND_CHARS:
                start -= 1
            while end < m.end() and scan[end] in _SOUND_CHARS:
                end += 1
            if dot - start >= 2 and end - dot - 1 >= 2:
                yield PiiMatch("person_name", start, end, text[start:end])
    if not _HAS_CJK.search(scan):
        return  # an English text: its capitalised words are not names among Chinese
    for m in _LATIN_NAME.finditer(scan):
        a, b = m.group(1).lower(), m.group(2).lower()
        if f"{a} {b}" in _NOT_LATIN_NAMES:
            continue
        pinyin = (a in _PINYIN_SURNAMES and _PINYIN_SYLLABLES.fullmatch(b)) or (
            b in _PINYIN_SURNAMES and _PINYIN_SYLLABLES.fullmatch(a))
        if pinyin or a in _ENGLISH_GIVEN:
            yield PiiMatch("person_name", m.start(), m.end(), text[m.start():m.end()])


def _name_lists(text: str, scan: str) -> Iterable[PiiMatch]:
    """Names in a list (:data:`_NAME_LIST`): every item a common surname and a given name that is no word."""
    for m in _NAME_LIST.finditer(scan):
        group = "items" if m.group("items") else "items3"
        items = m.group(group).split("、")
        spans, pos = [], m.start(group)
        for item in items:
            spans.append((pos, pos + len(item)))
            pos += len(item) + 1
        s, e = spans[-1]
        if group == "items3" and e - s == 3 and scan[e - 1] in _NOT_GIVEN_3RD:
            spans[-1] = (s, e - 1)  # 张三、李四、王五到场
        # Runs of items that read as names: three or more, or the last two or more before a head count (an
        # item that is no name, 于萃国 or a name masked already, cuts the list; the same runs are found
        # again in the masked text, so masking stays idempotent).
        ok = [2 <= e - s <= 4 and _bare_name_ok(scan, s, e, given_may_be_word=True) for s, e in spans]
        run: list[tuple[int, int]] = []
        for i, (span, good) in enumerate(zip(spans, ok, strict=True)):
            if good:
                run.append(span)
            if not good or i == len(spans) - 1:
                counted = good and i == len(spans) - 1 and group == "items"
                if len(run) >= 3 or (counted and len(run) >= 2):
                    for s, e in run:
                        yield PiiMatch("person_name", s, e, text[s:e])
                run = []


def _compound_at(text: str, pos: int) -> bool:
    return text[pos : pos + 2] in _COMPOUND_SURNAMES


def find_pii(text: str | None) -> list[PiiMatch]:
    """All personal data found in ``text``, left to right, non-overlapping (个人信息识别)."""
    if not text:
        return []
    return list(_iter_pii(text))


# --- masking ------------------------------------------------------------------------------------


def _mask_positions(value: str, keep_first: int, keep_last: int, is_secret) -> str:  # type: ignore[no-untyped-def]
    """Star the characters for which ``is_secret`` holds, except the first/last few of them."""
    idx = [i for i, ch in enumerate(value) if is_secret(ch)]
    hidden = set(idx[keep_first : len(idx) - keep_last if keep_last else None])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))


def _is_digit(ch: str) -> bool:
    return ch.isdigit()


def _is_code_char(ch: str) -> bool:
    return ch.isalnum()


def _mask_mobile(value: str) -> str:
    scan = value.translate(_SCAN_TABLE)
    # Leave the country code alone: mask within the 11-digit number (its last 11 digits; digits written
    # as Chinese numerals count).
    digits = [i for i, ch in enumerate(scan) if ch.isdigit() or ch in _CN_DIGITS]
    core = digits[-11:]
    hidden = set(core[3:-4])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))


def _mask_landline(value: str) -> str:
    scan = value.translate(_SCAN_TABLE)
    m = re.match(r"\(?(0(?:10|2\d|[3-9]\d{2}))\)?[ \-]?", scan)
    head = m.end() if m else 0
    # the subscriber number (and any extension) after the area code: keep its last 2 digits
    m2 = re.match(r"\d{7,8}", scan[head:])
    sub_end = head + (m2.end() if m2 else len(scan) - head)
    sub = _mask_positions(value[head:sub_end], 0, 2, _is_digit)
    ext = _mask_positions(value[sub_end:], 0, 0, _is_digit)
    return value[:head] + sub + ext


def _mask_name_text(name: str, titled: bool) -> str:
    """A name inside running text: 张三 → 张*, 欧阳娜娜 → 欧阳**, 张先生 → *先生, 张三先生 → 张*先生."""
    title = ""
    if titled:
        for t in _TITLES_LONGEST:
            if name.endswith(t):
                name, title = name[: -len(t)], t
                break
    k = 2 if name[:2] in _COMPOUND_SURNAMES else 1
    if title and len(name) <= k:  # surname + title only: the surname is all that identifies
        return "*" * len(name) + title  # surname + title only: the surname is all that identifies
    return name[:k] + "*" * (len(name) - k) + title


def _mask_match(m: PiiMatch) -> str:
    v = m.value
    if m.kind == "mobile":
        return _mask_mobile(v)
    if m.kind == "landline":
        return _mask_landline(v)
    if m.kind == "id_card":
        return _mask_positions(v, 6, 4, _is_code_char)
    if m.kind in ("credit_code", "credit_code_invalid"):
        return _mask_positions(v, 2, 4, _is_code_char)
    if m.kind == "email":
        local, _, domain = v.partition("@")
        return local[:1] + "***@" + domain
    if m.kind == "bank_card":
        return _mask_positions(v, 4, 4, _is_digit)
    if m.kind == "person_name":
        if v.isascii():  # Tony Wang → T*** W***
            return re.sub(r"(?<=[A-Za-z])[A-Za-z]", "*", v)
        if len(v) == 1:  # a surname on its own (姓王的女士, 老赵)
            return "*"
        if len(v) == 2 and v[1] in _SHORT_TITLES and not v.endswith(_TITLES):  # 张总 → *总
            return "*" + v[1]
        return _mask_name_text(v, titled=v.endswith(_TITLES))
    if m.kind == "plate":  # 豫A12345 → 豫A****5
        return v[:2] + _mask_positions(v[2:], 0, 1, _is_code_char)
    if m.kind in ("im_account", "passport"):  # first character and last two kept
        return _mask_positions(v, 1, 2, _is_code_char)
    if m.kind == "room":
        return "".join("*" if _is_digit(ch) else ch for ch in v)
    raise ValueError(f"unknown kind {m.kind!r}")  # pragma: no cover


def mask_matches(text: str, matches: Iterable[PiiMatch]) -> str:
    """``text`` with the given matches (from :func:`find_pii`, left to right) masked."""
    return _apply(text, matches)


def _apply(text: str, matches: Iterable[PiiMatch]) -> str:
    parts: list[str] = []
    pos = 0
    for m in matches:
        parts.append(text[pos : m.start])
        parts.append(_mask_match(m))
        pos = m.end
    if pos == 0:
        return text
    parts.append(text[pos:])
    return "".join(parts)


def mask_pii(text: str | None) -> str:
    """Mask every piece of personal data in a free text (文本脱敏); rules in the module docstring.

    >>> mask_pii("张先生来电，手机13812345678，身份证号11010519491231002X，邮箱zhang.san@example.com")
    '*先生来电，手机138****5678，身份证号110105********002X，邮箱z***@example.com'
    """
    if not text:
        return "" if text is None else text
    return _apply(text, _iter_pii(text))


# A text with none of these cannot contain personal data: most texts are rejected by one scan.
# Why the digit part is enough (runs = maximal runs of ``\d``, the same digits _PII_RE's ``\d``
# sees; the full-width table maps digits to digits and nothing else to a digit):
#   code18 (\d{8}…), id15 (15 digits), landline (7-8 digit subscriber number, or area code and
#   number in one run of 10+), lphone (7-8 digits): a run of 7 or more digits;
#   mobile (3 + 4 + 4 digits, at most one space/hyphen at the two cuts): one run of 7+ digits
#   unless cut at both places, and then two runs of (exactly) 4 digits;
#   bank cards (4-digit groups, 16-19 digits): one run of 16+ digits, or two runs of 4+ digits;
#   email: an @; names: a title or a label (below); rooms: 单元 and a digit, 房号, a building and 3 digits, or 3 digits and 室.
# So a cell like 2026-10-01 10:24:04, 2026年10月3日 or 3.5万元 (runs of 1-4 digits, at most one
# run of 4) is passed through untouched, as mask_pii would leave it.
_ROOM_GATE = r"单元\d|\d{3}室|房号|(?:号楼|栋|幢|座)\d{3}|\d-\d{1,2}-\d{3}"
_ROOM_GATE_RE = re.compile(_ROOM_GATE)
_GATE_RE = re.compile(
    r"[@＠]|\d{7}|\d{4,}\D.*?\d{4}|\d \d \d \d|姓|" + _ROOM_GATE + "|" + _trie(_TITLES + _NAME_LABELS)
    + "|" + _EXTRA_GATE.pattern.replace(r"|[A-Za-z]\d{17}|\d{19}|\d{14,17}[ \-][0-9Xx]", "")  # (7+ digits pass above)
    + "|" + _LIST_GATE.pattern + "|" + _LATIN_NAME_GATE.pattern
    + "|" + _trie(_PERSON_ROLES) + "(?:[（( ]|为|是)?" + _SURNAME_RE  # bare names after a role …
    + r"|(?:^|[，,。！？!?；;：:\s])" + _SURNAME_RE + r"[\u4e00-\u9fa5]{1,2}?(?:反映|来电|投诉|举报|称|表示|说|所反映|所述|所称|名下|老人|家长|本人|一家|夫妇|夫妻)",  # … or opening a sentence
    re.S,
)


# Most cells of a raw row are plain ASCII (dates, numbers, codes): only the number, e-mail, flat (12-3-502)
# and ASCII-labelled id rules can match them, and this much smaller gate costs a quarter of the full one.
_ASCII_GATE_RE = re.compile(r"@|\d{7}|\d{4,}\D.*?\d{4}|\d \d \d \d|\d-\d{1,2}-\d{3}|[0-9A-Za-z]{4,}[ \-][0-9A-Za-z]{4}"
                            r"|QQ|qq|vx|VX|wx|WX|[Ww]e[Cc]hat", re.S)


def _gate(text: str) -> bool:
    return (_ASCII_GATE_RE if text.isascii() else _GATE_RE).search(text) is not None


def might_contain_pii(text: str) -> bool:
    """False when ``text`` certainly holds no personal data :func:`mask_pii` would mask (its gate)."""
    return _gate(text)


def might_contain_room(text: str) -> bool:
    """False when ``text`` certainly holds no flat (``room``; the room part of :func:`mask_many`'s gate)."""
    return _ROOM_GATE_RE.search(text) is not None


def mask_many(texts: Iterable[str | None]) -> list[str]:
    """``[mask_pii(t) for t in texts]``, fast for 100k texts: one gate scan, one combined regex."""
    out: list[str] = []
    gate = _gate
    for t in texts:
        if not t:
            out.append("" if t is None else t)
        elif not isinstance(t, str):
            out.append(mask_pii(str(t)))
        elif not gate(t):
            out.append(t)
        else:
            out.append(_apply(t, _iter_pii(t)))
    return out


# --- structured fields ------------------------------------------------------------------------------


# What callers' and enterprises' columns hold when they hold no name: replacing these in a text
# garbled it (匿名 → 匿*处理, 市民 → 市*来电).
PLACEHOLDER_NAMES = frozenset(["匿名", "市民", "群众", "来电人", "先生", "女士", "小姐", "不详", "未知", "无", "个人",
                               "个体工商户", "个体户", "企业", "公司", "单位", "暂无", "保密", "不愿透露"])


def hide_known_names(text: str, orgs: Iterable[str] = (), people: Iterable[str] = ()) -> str:
    """``text`` with the given enterprise and person names — the row's own 企业名称 and 来电人, whose
    columns are masked — masked where it repeats them (其是郑州市郑东新区宏达茶叶店的法人 → …****店…).

    Only specific names are looked for: enterprise names of four characters or more, personal names
    that look like one (surname and one to three characters); placeholders (匿名, 市民) and names
    that mask to nothing but asterisks (a bare region) are left alone."""
    if not text:
        return text
    for name, org in [(n, True) for n in orgs] + [(n, False) for n in people]:
        name = (name or "").strip()
        if not name or name not in text or name in PLACEHOLDER_NAMES or "某" in name:
            continue
        if org and len(name) < 4:
            continue
        if not org and not (2 <= len(name) <= 4 and looks_like_person_name(name)):
            continue
        hidden = mask_org_name(name) if org else mask_name(name)
        if hidden and hidden != name and hidden.strip("*"):
            text = text.replace(name, hidden)
    return text


def looks_like_person_name(name: str) -> bool:
    """True for a Chinese personal name as a column holds it: a common surname (single or compound) and
    one to three more Chinese characters (张三, 欧阳娜娜); not 匿名, 市民 or an enterprise."""
    m = _SURNAME_FULL.match(name)
    return bool(m) and 1 <= len(name) - m.end() <= 3 and all("\u4e00" <= ch <= "\u9fa5" for ch in name)


def mask_name(name: str | None) -> str | None:
    """Mask a person-name field (姓名字段): 张三 → 张*, 欧阳娜娜 → 欧阳**, 张先生 → *先生, 张 → *.

    Non-Chinese names keep their first letter: ``John Smith`` → ``J*** *****``. ``None`` or blank →
    ``None``.
    """
    if name is None:
        return None
    s = str(name).strip()
    if not s:
        return None
    if s.endswith(_TITLES) and len(s) > 2:
        return _mask_name_text(s, titled=True)
    if re.fullmatch(r"[\u4e00-\u9fa5·]+", s):
        if len(s) == 1:
            return "*"
        k = 2 if s[:2] in _COMPOUND_SURNAMES and len(s) > 2 else 1
        return s[:k] + "".join("·" if ch == "·" else "*" for ch in s[k:])
    return s[0] + "".join(" " if ch.isspace() else "*" for ch in s[1:])


def mask_phone_field(value: str | None) -> str | None:
    """Mask a phone-number field (联系电话): every mobile/landline in it as in free text; any other
    run of 5+ digits keeps its last 2 digits (and its first 3 when it has 8 or more). ``None`` or
    blank → ``None``."""
    if value is None:
        return None
    s = str(value).strip()
    if not s:
        return None
    if not s.isascii() and any("０" <= c <= "９" for c in s):
        s = s.translate(_SCAN_TABLE)  # １３８…: stored as the ASCII digits it stands for
    # Whatever number is still readable beside the phones found — typed with separators the text rules do
    # not take (138.3712.5577, (150)3712 8899), or in Chinese numerals — is a phone number too in a phone
    # column (version 8).
    # What else the cell says goes through the free-text rules too: a supervisor's 联系方式 "微信：zhangjg_1975
    # / 139…" kept the WeChat id in clear (session 12), and a name written beside the number is a name.
    def rest(part: str) -> str:
        return _FIELD_NUMBER.sub(_mask_field_number, mask_pii(part)) if part.strip() else part

    parts, pos = [], 0
    for m in [m for m in find_pii(s) if m.kind in ("mobile", "landline")]:
        parts += [rest(s[pos:m.start]), _mask_match(m)]
        pos = m.end
    return "".join(parts) + rest(s[pos:])


def _mask_field_number(m: re.Match[str]) -> str:
    return _mask_positions(m.group(), 3 if _n_digits(m.group()) >= 8 else 0, 2, _is_phone_digit)


# Not next to a '*': digits beside a mask are what is left of a masked number (…_**75 / 139****5678), and
# joining them would mask a stored value again on every pass.
_FIELD_NUMBER = re.compile(r"(?<![0-9０-９*])[0-9０-９〇零一二三四五六七八九幺两](?:[\s.\-—–_/·()（）]*[0-9０-９〇零一二三四五六七八九幺两]){4,}(?![0-9０-９*])")


def _is_phone_digit(ch: str) -> bool:
    return ch.isdigit() or ch in _CN_DIGITS


def _n_digits(value: str) -> int:
    return sum(_is_phone_digit(ch) for ch in value)


# Organisational forms (组织形式), longest first. Kept as they are.
_ORG_FORMS = sorted(
    [
        "股份有限公司", "有限责任公司", "集团有限公司", "有限公司", "分公司", "子公司", "总公司", "公司",
        "专业合作社", "股份经济合作社", "合作社", "合作联社", "个人独资企业", "合伙企业", "普通合伙", "有限合伙",
        "经营部", "门市部", "营业部", "服务部", "办事处", "分店", "总店", "专卖店", "便利店", "超市", "商店",
        "商行", "商贸行", "商场", "饭店", "酒店", "宾馆", "餐馆", "餐厅", "诊所", "药店", "药房",
        "工作室", "事务所", "研究院", "研究所", "中心", "厂", "店", "馆", "场", "社", "部", "行", "院", "所",
    ],
    key=len,
    reverse=True,
)
# Industry words (行业表述) that stay visible between the trade name and the form.
_INDUSTRIES = sorted(
    [
        "房地产开发", "房地产", "置业", "物业服务", "物业管理", "物业", "建筑工程", "建筑安装", "建筑", "建设工程",
        "建设", "工程", "科技发展", "科技", "信息技术", "信息科技", "网络科技", "网络", "电子商务", "电子", "软件",
        "商贸", "贸易", "实业", "投资", "控股", "集团", "农业", "农业开发", "林业", "畜牧", "养殖", "种植",
        "食品", "餐饮管理", "餐饮", "医药", "医疗器械", "医疗", "药业", "生物", "化工", "机械", "机电", "设备",
        "汽车销售", "汽车服务", "汽车", "运输", "物流", "供应链", "文化传媒", "文化传播", "传媒", "广告",
        "教育咨询", "教育科技", "教育", "培训", "咨询服务", "咨询", "企业管理", "管理", "服务", "环保", "能源",
        "新能源", "电力", "电气", "材料", "新材料", "建材", "装饰工程", "装饰", "装修", "家具", "服装", "纺织",
        "印刷", "包装", "劳务", "人力资源", "旅游", "酒业", "茶业", "水务", "燃气", "热力", "制造", "加工",
        "烩面", "烧烤", "火锅", "小吃", "超市", "百货", "五金", "日用品", "烟酒", "副食", "水果", "蔬菜",
    ],
    key=len,
    reverse=True,
)
_PROVINCES = (
    "内蒙古", "黑龙江", "北京", "天津", "河北", "山西", "辽宁", "吉林", "上海", "江苏", "浙江", "安徽", "福建",
    "江西", "山东", "河南", "湖北", "湖南", "广东", "广西", "海南", "重庆", "四川", "贵州", "云南", "西藏",
    "陕西", "甘肃", "青海", "宁夏", "新疆", "香港", "澳门", "台湾",
)
_RE_REGION = re.compile(
    "^(?:(?:" + "|".join(_PROVINCES) + ")(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区)?)?"
    # (市政, 市场, 区块链 are trades, not places: 河南立信市政工程 was read as the city 立信市 and kept)
    r"(?:[\u4e00-\u9fa5A-Za-z0-9]{1,4}?(?:市(?!政|场|值|面)|地区|自治州|盟))?"
    r"(?:[\u4e00-\u9fa5A-Za-z0-9]{1,4}?(?:县|区(?!块|域)|旗))?"
    r"(?:[\u4e00-\u9fa5]{1,4}?(?:镇|乡|街道))?"
)
_RE_BRACKET = re.compile(r"[（(][^（()）]*[)）]")
_RE_BRANCH = re.compile(
    r"^(.+?(?:有限责任公司|股份有限公司|有限公司|公司))(.+?(?:分行|支行|分公司|分店|营业部|办事处|分理处|营业所|经营部|分部))$"
)


def mask_org_name(name: str | None) -> str | None:
    """Mask an enterprise name (企业名称脱敏): keep the region prefix (行政区划), industry and
    organisational form (组织形式), hide the trade name (字号) — 河南恒达科技有限公司 → 河南**科技有限公司.

    A 个体工商户 registered under the owner's own name (张三, 金水区张三) is masked like a person's name;
    one whose shop name holds the owner's name (张三烩面馆) loses it with the trade name. Bracketed
    parts such as （郑州）or （个体工商户）are kept. Phone numbers and other personal data inside the
    name are masked as in free text. ``None`` or blank → ``None``.
    """
    if name is None:
        return None
    s = mask_pii(str(name).strip())
    if not s:
        return None
    brackets = [(m.start(), m.group()) for m in _RE_BRACKET.finditer(s)]
    core = _RE_BRACKET.sub("", s)
    # A branch keeps its own descriptor: 某某银行股份有限公司 | 郑州分行.
    branch = _RE_BRANCH.match(core)
    tail = ""
    if branch:
        core, tail = branch.group(1), branch.group(2)
    out = _mask_org_core(core) + tail
    # Put the bracketed parts back where they were.
    for pos, text in brackets:
        pos = min(pos, len(out))
        out = out[:pos] + text + out[pos:]
    return out


def _mask_org_core(core: str) -> str:
    region = _RE_REGION.match(core)
    r_end = region.end() if region else 0
    if r_end >= len(core) - 1:  # do not let the region eat the whole name (张三 is not a county)
        r_end = 0
    head, rest = core[:r_end], core[r_end:]
    form = next((f for f in _ORG_FORMS if rest.endswith(f)), "")
    middle = rest[: len(rest) - len(form)]
    if not middle:
        return core  # nothing but a region and a form: nothing identifying to hide
    industry = next((i for i in _INDUSTRIES if middle.endswith(i) and len(middle) > len(i)), "")
    trade = middle[: len(middle) - len(industry)]
    if not form and not industry and re.fullmatch(r"[\u4e00-\u9fa5]{2,4}", trade) and _SURNAME_FULL.match(trade):
        masked_trade = mask_name(trade) or trade  # an individual business under the owner's own name
    else:
        masked_trade = "*" * len(trade)
    return head + masked_trade + industry + form


def mask_credit_code(code: str | None) -> str | None:
    """A credit-code field (统一社会信用代码字段): first 2 and last 4 characters kept, valid or not."""
    if code is None:
        return None
    s = re.sub(r"[\s\-]", "", str(code).translate(_SCAN_TABLE)).upper()
    if not s:
        return None
    if len(s) <= 6:
        return "*" * len(s)
    return s[:2] + "*" * (len(s) - 6) + s[-4:]


def credit_code_cell(code: str) -> tuple[str, bool]:
    """``(masked, valid)`` of a credit-code cell, with one PII scan instead of three:
    ``(mask_pii(code) if find_pii(code) else mask_credit_code(code), is_valid_credit_code(code))``."""
    matches = find_pii(code)
    masked = _apply(code, matches) if matches else mask_credit_code(code)
    if len(matches) == 1 and matches[0].kind in ("credit_code", "credit_code_invalid") \
            and matches[0].start == 0 and matches[0].end == len(code) and code.translate(_SCAN_TABLE) == code:
        # the scan judged exactly this string with is_valid_credit_code already (valid: credit_code)
        return masked, matches[0].kind == "credit_code"
    return masked, is_valid_credit_code(code)


def salted_hash(value: str | None, salt: str) -> str | None:
    """Keyed hash (加盐哈希) of an identifier: HMAC-SHA256 hex, first 24 characters.

    The value is normalised first: stripped, full-width → ASCII, and — for codes (统一社会信用代码,
    ID numbers, phone numbers: only letters, digits, spaces and hyphens) — spaces and hyphens removed
    and upper-cased, so ``91410100 ma44xxxx0y`` and ``91410100MA44XXXX0Y`` hash alike. ``None`` or a
    blank value → ``None``. ``salt`` must be non-empty.
    """
    if not salt:
        raise ValueError("salted_hash needs a non-empty salt")
    if value is None:
        return None
    s = str(value).translate(_SCAN_TABLE).strip()
    if not s:
        return None
    if re.fullmatch(r"[A-Za-z0-9 \-]+", s):
        s = re.sub(r"[ \-]", "", s).upper()
    return hmac.new(salt.encode("utf-8"), s.encode("utf-8"), hashlib.sha256).hexdigest()[:24]


# The first number of an address names a building or a house number when one of these follows it
# (3号楼, 88号院, 88号, 5栋, 2幢, B座 …); the numbers after it (单元, 层, 室, 1203) are the household.
_ADDR_DIGIT = re.compile(r"[0-9\uff10-\uff19]")
_ADDR_REST = re.compile(r"[0-9\uff10-\uff19*]")  # after the building (*: a flat masked already, 3单元1203)
_ADDR_BUILDING = re.compile(
    r"[0-9\uff10-\uff19]+[A-Za-z\uff21-\uff3a\uff41-\uff5a]?(?:号楼|号院|号|栋|幢|座)"
    r"|[0-9\uff10-\uff19]+[-－][0-9\uff10-\uff19]+号")
ADDRESS_MASK = "***"
_ROAD_ENDINGS = ("路", "街", "道")  # (大道, 大街 too; a number in a 巷, 胡同, 弄 or 村 is one house: masked)
# Column names and raw headers that hold a postal address (事发地址, 联系地址, 住址, 问题地点, 住所,
# address_masked …) or an IP address (来自IP, IP地址, ip; not 'description').
_ADDRESS_FIELD_HINTS = ("地址", "住址", "地点", "住所", "address", "Address", "ADDRESS")
_IDENTIFIER_FIELD_HINTS = ("身份证", "证件号", "护照", "银行卡", "银行账号", "银行帐号", "卡号", "账号", "帐号")
# Column names and raw headers whose cells are a person's name (来电人, 留言用户, 申请人 …; masked as a name
# by :func:`mask_name`, whatever the text, since a bare name has no pattern free text could find) —
# unless the header says the cell is something else about the person (来电人电话, 申请人类型, 监督员编号).
_PERSON_FIELD_HINTS = ("姓名", "来电人", "监督员", "联系人", "诉求人", "填报人", "留言用户", "留言人", "来信人",
                       "申请人", "投诉人", "举报人", "经办人", "反映人", "当事人", "法定代表人", "法人代表",
                       "负责人", "户主", "委托人", "代理人", "签名", "受理人", "承办人", "办理人", "接线员",
                       "回访人", "记录人", "联络人", "对接人", "person_name", "caller_name", "contact_name",
                       "supervisor_name")
# What the header says the cell is, when it ends with it (单位负责人 and 企业联系人 are people; 来电人电话,
# 申请人类型, 监督员编号 are not names); a header joining a name and more (联系人及电话) is masked as a name.
_PERSON_FIELD_NOT = ("类型", "电话", "手机", "号码", "方式", "邮箱", "单位", "企业", "公司", "人数", "数量",
                     "编号", "时间", "日期", "意见", "内容", "类别", "性别", "年龄", "地址")
_PERSON_FIELD_JOINED = re.compile(r"[及和与/、]")
_IP_FIELD = re.compile(r"(?<![A-Za-z])ip(?![A-Za-z])", re.IGNORECASE)
# A phone column (联系电话, 手机号码, 来电号码 …): masked by :func:`mask_phone_field` in the raw row too, not by
# the free-text rules, which leave numbers typed with unusual separators (version 8: 0371—65432198 and
# +86-371-65432197 were stored in the raw row while phone_masked showed 654***98).
_PHONE_FIELD_HINTS = ("电话", "手机", "联系方式", "座机", "来电号码", "主叫号码", "联系号码", "回拨号码")
_PHONE_FIELD_LATIN = re.compile(r"phone|mobile|(?<![A-Za-z])tel(?![A-Za-z])", re.IGNORECASE)


def field_mask(name: str) -> Callable[[str], str | None] | None:
    """The masking rule of an address, IP, identifier or person-name column (:func:`field_kind`), else
    None (free text)."""
    kind = field_kind(name)
    if kind == "person":
        return mask_name
    if kind == "ip":
        return _mask_ip_cell
    if kind == "identifier":
        return mask_identifier
    if kind == "phone":
        return _mask_phone_cell
    return mask_address if kind == "address" else None


def _mask_phone_cell(value: str) -> str | None:
    return mask_phone_field(mask_pii(value))  # (a name written beside the number, too)


def mask_identifier(value: str | None) -> str | None:
    """A cell of a column whose header says it holds an ID or account number (身份证号码, 证件号, 银行卡号):
    masked whole — first 6 and last 4 letters or digits kept, as for an ID number — whether or not the
    value passes its checksum (a mistyped number is still somebody's)."""
    if value is None:
        return None
    masked = mask_pii(value)
    return _mask_positions(masked, 6, 4, _is_code_char) if sum(ch.isalnum() for ch in masked) > 10 else masked


def _mask_ip_cell(value: str) -> str | None:
    return mask_ip(mask_pii(value))  # (personal data written beside the IP, too)


def field_kind(name: str) -> str | None:
    """'ip' for a column or header that holds an IP address, 'identifier' for an ID or account number
    (身份证号码, 证件号, 银行卡号), 'address' for a postal address (an IP column named IP地址 is 'ip'),
    'person' for a person's name (来电人姓名, 留言用户, 申请人), 'phone' for a phone number (联系电话,
    手机号码), else None: which of :func:`mask_ip` / :func:`mask_identifier` / :func:`mask_address` /
    :func:`mask_name` / :func:`mask_phone_field` it takes."""
    if _IP_FIELD.search(name):
        return "ip"
    if any(h in name for h in _ADDRESS_FIELD_HINTS):
        return "address"
    # (a person's column before an ID column: 您的姓名及身份证号 holds a name the ID rule would keep)
    if any(h in name for h in _PERSON_FIELD_HINTS) and (
            _PERSON_FIELD_JOINED.search(name) or not name.rstrip("*:：） )").endswith(_PERSON_FIELD_NOT)):
        return "person"
    if any(h in name for h in _IDENTIFIER_FIELD_HINTS):
        return "identifier"
    if (any(h in name for h in _PHONE_FIELD_HINTS) or _PHONE_FIELD_LATIN.search(name)) and "hash" not in name.lower():
        return "phone"  # (phone_hash holds the salted hash)
    return None


def mask_address(address: str | None) -> str | None:
    """Mask an address field (地址脱敏): keep the administrative part, road, compound or building and
    the building or house number (楼号/门牌号), hide what identifies a household (单元, 楼层, 室号).

    ``郑东新区祥润花园3号楼2单元1203`` → ``郑东新区祥润花园3号楼***``; ``郑东新区祥润花园1203`` →
    ``郑东新区祥润花园***`` (also ``祥润花园1203号``: 号 is a street number only after a road);
    ``金水东路88号`` and ``商都路与九如路交叉口`` stay as they are (a building's
    street number, a crossing); ``汇金大厦12层`` → ``汇金大厦***``. Phone numbers and names inside are
    masked as in free text. Idempotent; ``None`` or blank → ``None``.
    """
    if address is None:
        return None
    s = str(address).strip()
    if not s:
        return None
    first = _ADDR_DIGIT.search(s)
    if first is None:
        return _mask_gated(s)
    building = _ADDR_BUILDING.match(s, first.start())
    if building and building.group().endswith("号") and not s[:first.start()].endswith(_ROAD_ENDINGS):
        building = None  # 金水东路88号 is a building's street number; 祥润花园1203号 is a flat
    keep = building.end() if building else first.start()
    if _ADDR_REST.search(s, keep) is None:
        return _mask_gated(s)  # nothing numbered after the building: 88号院内, 3号楼东侧, 88号
    return _mask_gated(s[:keep]) + ADDRESS_MASK


def _mask_gated(text: str) -> str:
    """``mask_pii(text)`` for a str, with the gate of :func:`mask_many` in front."""
    return text if _GATE_RE.search(text) is None else _apply(text, _iter_pii(text))


_IPV4 = re.compile(r"(?<![0-9.])(\d{1,3})\.(\d{1,3})\.(\d{1,3}|\*)\.(\d{1,3}|\*)(?![0-9])")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])((?:[0-9A-Fa-f]{1,4}:){2})(?:[0-9A-Fa-f]{0,4}:){1,6}[0-9A-Fa-f]{0,4}")


def mask_ip(value: str | None) -> str | None:
    """Mask an IP-address field (IP地址脱敏, e.g. 问卷星's 来自IP): the first two parts of an IPv4
    address kept, the last two hidden (``171.8.45.120(河南-郑州)`` → ``171.8.*.*(河南-郑州)``); an IPv6
    address keeps its first two groups. The region in brackets is kept. Idempotent; ``None`` or blank
    → ``None``."""
    if value is None:
        return None
    s = str(value).strip()
    if not s:
        return None
    s = _IPV4.sub(lambda m: f"{m.group(1)}.{m.group(2)}.*.*", s)
    return _IPV6.sub(lambda m: m.group(1) + "*", s)
