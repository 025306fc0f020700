"""Problem-clue list (问题线索清单): grouping quality on a generated month with planted problems.

The generator below plants known problems, each written as ≥ 8 hand-written paraphrases that share
few words (not template variations), spreads them over the four sources with realistic prefixes,
suffixes and masked personal data, and adds diverse one-off noise complaints in the same areas.
"""

from __future__ import annotations

import hashlib
import random
import re
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from pipeline.clues import (
    CLUE_COLUMNS,
    MEMBER_COLUMNS,
    build_clues,
    load_clue_config,
    select_candidates,
)

# --------------------------------------------------------------------------- planted problems

PLANTED: dict[str, dict] = {
    "P1_license_slow": {
        "area": "A1",
        "texts": [
            "营业执照申请提交快一个月了还没批下来，一直显示审核中",
            "注册新公司等了二十多天，执照到现在也没拿到手",
            "开办企业的审批拖得太久，材料交上去就没了下文",
            "我们公司设立登记迟迟没有结果，打电话问也说在排队审核",
            "领个营业证前前后后耗了三周，效率实在太低",
            "新店开业被卡在执照这一步，登记部门一拖再拖",
            "公司注册流程慢得离谱，网上提交后半个多月没人处理",
            "办理工商登记时间太长，说好的三个工作日办结根本做不到",
            "企业开办审核进度停滞，催了好几次仍然没有发照",
            "从核名到领照花了将近一个月，比宣传的时限长多了",
        ],
    },
    "P2_power_outage": {
        "area": "A3",
        "texts": [
            "我们园区这个月已经停电四五次了，生产线被迫停工",
            "厂里三天两头断电，也不提前通知，设备都烧坏了",
            "供电很不稳定，经常突然没电，损失很大",
            "最近工业区隔三差五拉闸限电，订单都交不了货",
            "电压不稳还老跳闸，一天要断好几回",
            "上周连续两天无故停电，供电公司也没有任何说明",
            "车间动不动就断供电，机器重启一次要半天",
            "这一片的电路老化，一到用电高峰就掉电",
            "频繁的计划外停电让我们冷库里的货物全坏了",
        ],
    },
    "P3_power_bill": {
        "area": "A3",
        "texts": [
            "这个月电费比上月翻了一倍，用电量根本没变化，怀疑电表有问题",
            "电费账单金额明显不对，多收了好几千块",
            "供电所按照商业电价收我们工业用电的钱，价格算错了",
            "电表读数跟实际用量对不上，缴费金额虚高",
            "收到的用电结算单重复计费，找营业厅也没人解释",
            "电价执行标准有误，我们一直被按高档收费",
            "智能电表跑得飞快，每月的电钱莫名其妙涨了很多",
            "核对发现有两个月的电费被重复扣款",
        ],
    },
    "P4_tax_refund": {
        "area": "A5",
        "texts": [
            "留抵退税申请提交两个月了，税款一直没退回来",
            "我们的出口退税迟迟不到账，资金周转很困难",
            "申请退还多缴的税款，税务局说还在审核，拖了很久",
            "增值税留抵退还进度太慢，企业等着这笔钱发工资",
            "退税流程繁琐，材料补了三次钱还没返还",
            "多交的所得税申请返还，半年了没有任何消息",
            "符合条件的退税款项迟迟未到位，电话咨询也没有明确答复",
            "税费返还审批时间过长，严重影响企业现金流",
        ],
    },
    "P5_arrears": {
        "area": "A7",
        "texts": [
            "给区里做的工程验收一年多了，工程款还欠着没给",
            "政府项目的尾款拖欠我们三百多万，多次催讨没有结果",
            "承建的学校改造项目结算后迟迟不付钱，工人工资都发不出",
            "街道办欠我们公司的施工费用已经两年了",
            "国有平台公司拖着我们的货款不结算，一拖就是十几个月",
            "机关单位采购我们的设备，至今账款未结清",
            "市政工程完工后付款一拖再拖，小企业快撑不下去了",
            "项目款项被甲方政府部门长期占用，讨要无门",
            "清欠工作说了好几次，我们被拖欠的钱还是没到",
        ],
    },
    "P6_queue": {
        "area": "A9",
        "texts": [
            "政务服务中心排队的人太多，早上取号到下午才轮到",
            "办事大厅只开两个窗口，等了三个多小时",
            "去大厅办业务要排很久的队，一上午什么都没办成",
            "取号后前面还有八十多人，窗口开放太少",
            "每次到服务中心都人山人海，等候时间过长",
            "预约了时间去还是要等一两个小时才能办理",
            "大厅叫号特别慢，一天只能办一件事",
            "窗口人手不够，群众在大厅里一等就是半天",
        ],
    },
    "P7_attitude": {
        "area": "A9",
        "texts": [
            "窗口工作人员态度恶劣，问两句就不耐烦",
            "办事员爱答不理，说话很冲，让人很不舒服",
            "咨询问题时工作人员一直玩手机，根本不理人",
            "柜台后面的人说话阴阳怪气，问什么都嫌烦",
            "前台的人员语气生硬，还当众呵斥办事群众",
            "办事员对老年人很不客气，大声训斥",
            "工作人员冷冰冰的，一问三不知还嫌我们麻烦",
            "在窗口被甩脸色，服务态度非常差",
        ],
    },
    "P8_inspections": {
        "area": "A8",
        "texts": [
            "一个月内被不同部门上门检查了五次，严重影响正常经营",
            "执法人员多头检查，今天消防明天环保后天市场监管",
            "检查太频繁了，同样的内容被反复查了好几遍",
            "各种检查组轮番来店里，一周要接待好几拨",
            "同一事项被多个部门重复检查，企业疲于应付",
            "这个季度执法检查次数太多，老板光陪检查就没法做生意",
            "上门查的人一拨接一拨，每次都要我们重新准备材料",
            "双随机抽查变成了天天查，企业不堪其扰",
        ],
    },
    "P9_property_cert": {
        "area": "A4",
        "texts": [
            "房子交付三年了，不动产权证一直办不下来",
            "买的商品房迟迟拿不到房本，开发商说在办",
            "小区业主的产权证拖了好几年都没有发",
            "厂房的不动产登记申请被退回多次，证书迟迟未领到",
            "交房即交证没有落实，我们至今没有房产证",
            "因为开发商欠税，整栋楼的业主都没法办证",
            "购房多年一直没有产权证书，孩子上学都受影响",
            "不动产登记中心说资料不全，补了几次还是办不了证",
        ],
    },
    "P10_loans": {
        "area": "A6",
        "texts": [
            "小微企业去银行申请贷款，要求的抵押物我们根本拿不出",
            "想融资扩大生产，跑了好几家银行都不给授信",
            "银行放款审批门槛太高，我们这种轻资产公司贷不到钱",
            "申请普惠贷款被拒，理由是没有担保",
            "企业融资难，银行只认房产抵押",
            "我们没有厂房可以抵押，银行评估后直接拒贷",
            "去银行借钱手续复杂，还要找担保公司另交费用",
            "信用贷款额度太低，根本解决不了周转问题",
        ],
    },
}

# A second batch of planted problems. They were first written as a held-out set after a first
# version of the concept lexicon; their misses then led to general additions to the lexicon (A7
# sub-items, loan withdrawal, heavy penalties, heating), so they are no longer held out.
HELD_OUT: dict[str, dict] = {
    "H1_deregistration": {
        "area": "A1",
        "texts": [
            "想把个体户注销掉，来回跑了四趟还没办完",
            "公司不做了要关掉，清税证明一直开不出来",
            "简易注销公告期满了，登记机关还是不给核准",
            "企业退出太难了，光注销就折腾了半年",
            "注销时要求补交好多年前的账本，根本找不到",
            "停业的店铺申请撤销登记，被告知要先解除所有许可",
            "关闭公司的手续比开公司麻烦十倍",
            "营业执照注销卡在税务环节，两边都说是对方的问题",
            "歇业后想销户，窗口说要法人本人亲自来",
        ],
    },
    "H2_invoicing": {
        "area": "A5",
        "texts": [
            "电子税务局开票模块老是报错，发票开不出去",
            "数电票系统这几天登录不了，客户都在催票",
            "开具增值税专票时一直提示授信额度不足",
            "开票软件升级后无法使用，业务停了两天",
            "客户要的专用发票我们开不出来，平台一直转圈",
            "红字发票冲销流程走不通，找不到操作入口",
            "全电发票额度太少，一个月不够用",
            "税务UKey插上没反应，没法给客户出票",
        ],
    },
    "H3_construction_permit": {
        "area": "A2",
        "texts": [
            "项目施工许可证报上去一个多月了还没发下来",
            "建设单位等开工手续等了很久，工期一再推迟",
            "报建审批环节太多，每个环节都要排队",
            "我们的厂房项目卡在施工许可阶段快两个月",
            "工程建设项目审批时限远超承诺时间",
            "规划许可批下来后，施工证又拖了半年",
            "项目开工手续迟迟办不完，工人都在工地闲着",
            "在工改系统里提交了申请，几周过去状态一直不动",
        ],
    },
    "H4_heavy_fines": {
        "area": "A8",
        "texts": [
            "店门口摆了一块广告牌就被罚了五千，处罚太重",
            "轻微违规没有先提醒整改，直接开罚单",
            "执法部门对小商户一刀切，动不动就罚款",
            "标签印刷有个小错误被处以高额罚金",
            "首次违法就顶格处罚，不符合包容审慎监管",
            "因为一个小瑕疵被罚得倾家荡产",
            "市场监管对新业态没有容错机制，罚款金额过高",
            "只是晚了几天公示信息就被处罚，太不近人情",
        ],
    },
    "H5_heating": {
        "area": "A3",
        "texts": [
            "今年冬天办公楼暖气不热，员工都穿着羽绒服上班",
            "供暖温度只有十几度，热力公司说符合标准",
            "车间里的暖气片摸着冰凉，交了采暖费却没有效果",
            "集中供热效果很差，室内冷得坐不住",
            "供热不达标，打热线报修好几次没人上门",
            "暖气时冷时热，晚上基本不热",
            "采暖季已经开始半个月了家里还是冷冰冰",
            "交了全额取暖费，屋里温度连十五度都不到",
        ],
    },
    "H6_loan_withdrawal": {
        "area": "A6",
        "texts": [
            "贷款还没到期银行就要求提前还款",
            "经营刚有起色，银行突然不续贷了",
            "银行单方面压缩授信额度，企业资金链紧张",
            "还完旧贷后银行迟迟不放新贷，等于抽贷",
            "因为行业调整，银行把我们列入退出名单断了贷款",
            "银行要求我们追加抵押，否则就收回贷款",
            "到期转贷被拒，只能借高息过桥资金",
            "信贷经理口头答应续贷，还款后就变卦了",
        ],
    },
}
# Truly held out: written after the lexicon and the method were frozen and never used to change
# them. They measure generalisation to unseen wordings (test_unseen_wordings, report only + a floor).
UNSEEN: dict[str, dict] = {
    "G1_duplicate_documents": {
        "area": "A9",
        "texts": [
            "网上已经上传过的营业执照，到了窗口还要再交一份复印件",
            "各个部门的系统数据不互通，同样的信息我们填了四五遍",
            "明明电子证照库里有，办事时还让我们提供纸质原件",
            "每办一项业务都得重新录入企业基本信息，非常浪费时间",
            "线上申报完了线下还要再跑一趟递交纸质版",
            "部门之间信息不共享，让企业自己去开各种证明",
            "同一套材料在三个平台各上传一次",
            "说是全程网办，最后还是要拿着资料到现场核验",
        ],
    },
    "G2_water_pressure": {
        "area": "A3",
        "texts": [
            "厂区自来水压力太小，三楼以上根本用不了水",
            "一到白天用水高峰，水龙头就只剩细细一股",
            "我们车间的冷却设备因为供水不足经常停机",
            "园区管网水压不够，消防水池都补不满",
            "楼上的卫生间经常没水，只能半夜接水用",
            "水流小得可怜，洗个手要等半天",
            "新厂房通水以后出水量一直达不到要求",
            "水务公司说是管道老化，压力上不去也没说什么时候改",
        ],
    },
    "G3_slow_trials": {
        "area": "A7",
        "texts": [
            "我们起诉的买卖合同纠纷立案八个月了还没开庭",
            "一个简单的欠款官司从一审到判决用了一年多",
            "案件排期太靠后，法官说积案太多要等",
            "民商事案件审理周期长，企业被拖得精疲力尽",
            "开完庭好几个月了迟迟不出判决书",
            "诉讼程序一再延期，对方借机转移了财产",
            "法院审限一延再延，我们的资金一直被占着",
            "商事纠纷打官司太耗时，小企业耗不起",
        ],
    },
    "G4_business_premises": {
        "area": "A1",
        "texts": [
            "想用自己家的住宅注册公司，登记部门不允许",
            "租的写字楼没有房产证，营业执照地址登记不了",
            "园区集中登记地址名额满了，新公司找不到注册地",
            "商住两用房不能作为经营场所，只能另外租房",
            "一个地址只能注册一家企业，初创团队负担很重",
            "厂房是村集体的没有产权证明，办不了经营场所登记",
            "住所申报承诺制没有落实，还是要求提供租赁备案",
            "注册地址必须是商业用途，小微企业很难找到便宜的",
        ],
    },
}
UNSEEN_COUNTS = {"G1_duplicate_documents": 14, "G2_water_pressure": 12, "G3_slow_trials": 12,
                 "G4_business_premises": 12}

HELD_OUT_COUNTS = {"H1_deregistration": 14, "H2_invoicing": 16, "H3_construction_permit": 12,
                   "H4_heavy_fines": 12, "H5_heating": 15, "H6_loan_withdrawal": 12}

COUNTS = {
    "P1_license_slow": 30, "P2_power_outage": 25, "P3_power_bill": 12, "P4_tax_refund": 20,
    "P5_arrears": 18, "P6_queue": 22, "P7_attitude": 15, "P8_inspections": 14,
    "P9_property_cert": 10, "P10_loans": 15,
}

# One-off complaints (noise): each is its own problem, in the same areas and vocabulary as the
# planted ones, so that they would be pulled into the wrong clue by a careless method.
NOISE: list[tuple[str, str]] = [
    ("A1", "个体户年报系统填报时一直提示格式错误"),
    ("A1", "想变更经营范围，不知道要准备哪些材料，网上也查不到"),
    ("A1", "公司股东去世后股权继承变更不知道怎么办"),
    ("A1", "刻章的价格比邻区贵了一倍"),
    ("A1", "电子营业执照下载后银行不认可，还要纸质版"),
    ("A1", "食品经营许可现场核查的人员迟到两个小时"),
    ("A1", "我们已经搬回原注册地址，但经营异常名录还没移出"),
    ("A1", "名称自主申报系统总说名字近似，但查不到是和谁近似"),
    ("A1", "法人变更要求原法人到场，可他人在国外"),
    ("A2", "施工图审查的意见前后两次不一致，改了又改"),
    ("A2", "消防验收要求加装的喷淋与审过的图纸矛盾"),
    ("A2", "人防易地建设费的收取标准不公开"),
    ("A2", "联合验收需要的资料清单没有在网上公示"),
    ("A2", "工改系统上传附件大小限制太小，图纸传不上去"),
    ("A2", "规划条件里的容积率和出让合同写的不一样"),
    ("A2", "多测合一以后测绘报告反而要等更久"),
    ("A3", "燃气报装要求我们自己找人挖管沟"),
    ("A3", "水表装在厂区外面，已经被偷了两次"),
    ("A3", "用水报装要跑水务、住建、城管三个部门"),
    ("A3", "自来水发黄有异味，已经持续一周"),
    ("A3", "变压器增容的费用报价太高，远超预算"),
    ("A3", "天然气价格上调没有提前告知企业"),
    ("A3", "园区污水管网没有接通，只能自己拉走"),
    ("A4", "抵押登记要求买卖双方都必须到现场"),
    ("A4", "过户时契税的计税价格和评估价差距很大"),
    ("A4", "土地证上的面积和实际测量结果不符"),
    ("A4", "二手房带押过户在我们区还办不了"),
    ("A4", "查封解除后登记系统里仍显示限制状态"),
    ("A5", "电子税务局晚上维护，月底最后一天没法申报"),
    ("A5", "小规模纳税人的减免政策不知道我们能不能享受"),
    ("A5", "税务稽查要求我们提供五年前的原始凭证"),
    ("A5", "滞纳金的计算天数有误，多算了二十天"),
    ("A5", "个税专项附加扣除在手机上怎么都填不进去"),
    ("A5", "税务专管员换了三个，每个人的要求都不一样"),
    ("A5", "研发费用加计扣除的口径税务所和财政局说法不一"),
    ("A6", "贴息资金申请通过后一直没有拨付"),
    ("A6", "征信报告里有一笔不属于我们的逾期，申请更正没人管"),
    ("A6", "担保公司收取的担保费比合同约定高"),
    ("A6", "应收账款质押融资平台注册流程看不懂"),
    ("A6", "政府风险补偿资金池的申报通知发得太晚"),
    ("A7", "法院立案要求提交的证据原件太多"),
    ("A7", "判决生效半年了，对方仍然不履行"),
    ("A7", "商事仲裁的费用对小企业来说太高"),
    ("A7", "破产管理人一直不回复我们的债权申报"),
    ("A7", "诉前调解拖了三个月，也没有调解员联系我们"),
    ("A7", "网上立案平台上传材料总是失败"),
    ("A8", "附近有人无证经营低价竞争，举报后没有下文"),
    ("A8", "招标文件里设置排他性的资质条件"),
    ("A8", "信用修复申请提交后一直没有审批"),
    ("A8", "我们的商标被人抢注了，投诉无门"),
    ("A8", "行业协会强制企业交会费，不交就不给评级"),
    ("A8", "政府采购中标结果公示时间太短"),
    ("A8", "执法时没有出示证件也没有告知救济途径"),
    ("A8", "检测机构收费没有明码标价"),
    ("A9", "人才补贴的申报条件一年变了三次"),
    ("A9", "好差评系统给了差评以后没有任何回访"),
    ("A9", "网上预约系统经常崩溃，约不上号"),
    ("A9", "惠企政策兑现要求的证明材料太多"),
    ("A9", "一件事一次办的专区只能办两三个事项"),
    ("A9", "政务服务网的办事指南和窗口要求不一致"),
    ("A9", "自助终端机打印的证明纸张模糊，窗口不认"),
    ("A9", "高层次人才的子女入学政策落实不到位"),
    ("A9", "大厅停车场太小，来办事找不到车位"),
    ("Z", "小区物业乱收停车费，业委会也不管"),
    ("Z", "学校门口早晚高峰交通拥堵"),
    ("Z", "工地夜间施工噪音大，影响休息"),
    ("Z", "楼下饭店油烟直排扰民"),
    ("Z", "小区门口的路灯坏了半个月没人修"),
    ("Z", "共享单车乱停乱放，人行道都堵了"),
    ("Z", "河道有异味，夏天蚊虫很多"),
    ("Z", "公交线路调整后，去园区要换乘两次"),
    ("Z", "公司拖欠我三个月工资，劳动监察说要排队"),
    ("Z", "菜市场的卫生条件太差，地面全是污水"),
    ("Z", "网购的商品是假货，商家拒绝退款"),
    ("Z", "医院挂号要提前一周，看病太难"),
    ("Z", "小区电梯经常困人，物业维修不及时"),
    ("Z", "楼上装修漏水，协调多次没有结果"),
    ("Z", "宠物狗不拴绳，孩子被吓到了"),
]

HOTLINE_PREFIX = ["", "", "", "来电人反映：", "市民王**来电称，", "企业负责人来电（138****5678）反映，",
                  "您好，", "我想反映一下，", "反映一个问题："]
HOTLINE_SUFFIX = ["", "", "希望相关部门尽快解决。", "请有关部门核实处理。", "望尽快给予答复。",
                  "诉求人要求尽快处理。", "这个问题已经影响企业正常经营。"]
SURVEY_PREFIX = ["暗访发现：", "测评人员暗访发现，"]
SUPERVISOR_PREFIX = ["监督员反映：", "特邀监督员走访企业时了解到，"]
QUESTIONNAIRE_SUFFIX = ["", "", "建议改进。", "希望改善。"]

STREETS = ["城关街道", "东城街道", "西湖街道", "高新区", "南湖镇", "北山乡"]


def _fid(source: str, key: str) -> str:
    return hashlib.sha1(f"{source}|{key}".encode()).hexdigest()[:16]


_STOP = set("的 了 是 我 我们 你 他 在 也 都 就 和 与 还 又 要 说 让 被 把 给 到 对 从 这 那 个 一 着 很 太 吧 吗 呢 啊 ， 。 ！ ？ 、 ： ；（ ） ( ) * - 有 没 没有 不 得 地 之 等 及 或 以 为".split())


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba


def tokenize(text: str) -> list[str]:
    """Stand-in for the pipeline's tokenizer: jieba words minus stop words, punctuation and numbers."""
    toks = _jieba().lcut(text)
    return [t for t in toks if t.strip() and t not in _STOP and not re.fullmatch(r"[\W\d_]+", t)]


def _dress(rng: random.Random, text: str, source: str) -> str:
    if source == "hotline":
        return rng.choice(HOTLINE_PREFIX) + text + "，" + rng.choice(HOTLINE_SUFFIX)
    if source == "survey":
        return rng.choice(SURVEY_PREFIX) + text + "。"
    if source == "supervisor":
        return rng.choice(SUPERVISOR_PREFIX) + text + "。"
    return text + "。" + rng.choice(QUESTIONNAIRE_SUFFIX)


def make_month(month: str = "2025-10", seed: int = 7, counts: dict[str, int] | None = None,
               problems: list[str] | None = None, with_noise: bool = True,
               non_candidates: int = 20) -> tuple[pd.DataFrame, dict[str, set[str]], set[str]]:
    """A month of enriched feedback: (frame, planted problem → feedback ids, noise feedback ids)."""
    rng = random.Random(f"{month}-{seed}")
    counts = {**COUNTS, **HELD_OUT_COUNTS, **UNSEEN_COUNTS, **(counts or {})}
    problems = list(PLANTED) + list(HELD_OUT) if problems is None else problems
    specs = {**PLANTED, **HELD_OUT, **UNSEEN}
    y, m = map(int, month.split("-"))
    rows: list[dict] = []
    planted: dict[str, set[str]] = {p: set() for p in problems}
    noise: set[str] = set()
    entities = [f"ent{i:03d}" for i in range(150)]

    def add(text: str, area: str, key: str, *, candidate: bool = True) -> str:
        source = rng.choices(["hotline", "questionnaire", "survey", "supervisor"], [70, 18, 7, 5])[0]
        if not candidate:
            source = rng.choice(["hotline", "questionnaire"])
        full = _dress(rng, text, source) if candidate else text
        fid = _fid(source, key)
        day = rng.randint(1, 28)
        request_type = (rng.choice(["投诉", "投诉", "求助", "建议"]) if source == "hotline" else None)
        sentiment = rng.choices(["neg", "neu"], [85, 15])[0] if candidate else "pos"
        if sentiment == "neu" and source == "hotline":
            request_type = "投诉"  # a neutral-sounding text is still a candidate as a complaint
        score = float(rng.choice([20, 40, 40, 60])) if source == "questionnaire" else np.nan
        if not candidate:
            request_type = "表扬" if source == "hotline" else None
            score = 100.0 if source == "questionnaire" else np.nan
        rows.append({
            "feedback_id": fid,
            "source": source,
            "source_record_id": f"{source[:2].upper()}{y}{m:02d}{len(rows):05d}",
            "received_at": pd.Timestamp(y, m, day, rng.randint(8, 20), rng.randint(0, 59)),
            "area": area,
            "sentiment": sentiment,
            "sentiment_score": round(rng.uniform(0.6, 0.99), 3),
            "request_type": request_type,
            "entity_hash": rng.choice(entities) if rng.random() < 0.85 else None,
            "street": rng.choice(STREETS),
            "text": full,
            "tokens": tokenize(full),
            "score_100": score,
        })
        return fid

    for p in problems:
        spec = specs[p]
        for k in range(counts[p]):
            # Round-robin through the paraphrases so each appears; dressing varies every item.
            text = spec["texts"][k % len(spec["texts"])]
            planted[p].add(add(text, spec["area"], f"{month}-{p}-{k}"))
    if with_noise:
        for i, (area, text) in enumerate(NOISE):
            noise.add(add(text, area, f"{month}-noise-{i}"))
    praise = ["窗口工作人员热情周到，一次就办好了", "供电抢修很及时，点赞", "税务局退税很快，感谢",
              "营业执照当天就拿到了，效率很高", "政策解读会讲得很清楚"]
    for i in range(non_candidates):
        add(praise[i % len(praise)], "A9", f"{month}-praise-{i}", candidate=False)
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return frame, planted, noise


# --------------------------------------------------------------------------- metrics


def grouping_quality(members: pd.DataFrame, clues: pd.DataFrame, planted: dict[str, set[str]],
                     noise: set[str]) -> tuple[dict[str, dict], float]:
    """Per planted problem: the clue holding most of its members, its precision/recall/F1; and the
    share of noise items that landed in clues of five or more items."""
    by_clue = members.groupby("clue_id")["feedback_id"].apply(set).to_dict()
    out = {}
    for p, ids in planted.items():
        best, best_overlap = None, 0
        for cid, mem in by_clue.items():
            o = len(ids & mem)
            if o > best_overlap:
                best, best_overlap = cid, o
        if best is None:
            out[p] = {"clue_id": None, "precision": 0.0, "recall": 0.0, "f1": 0.0, "n_items": 0, "area": None}
            continue
        prec = best_overlap / len(by_clue[best])
        rec = best_overlap / len(ids)
        row = clues.set_index("clue_id").loc[best]
        out[p] = {"clue_id": best, "precision": prec, "recall": rec, "f1": 2 * prec * rec / (prec + rec),
                  "n_items": int(row["n_items"]), "area": row["area"]}
    size = members.groupby("clue_id").size()
    big = set(size[size >= 5].index)
    in_big = members[members["clue_id"].isin(big) & members["feedback_id"].isin(noise)]
    return out, (len(in_big) / len(noise) if noise else 0.0)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def cfg():
    return load_clue_config()


@pytest.fixture(scope="module")
def month_data(cfg):
    frame, planted, noise = make_month("2025-10", seed=7)
    cands = select_candidates(frame, cfg, month="2025-10")
    clues, members = build_clues(cands, "2025-10", None, cfg)
    return frame, planted, noise, cands, clues, members


# --------------------------------------------------------------------------- tests


def test_paraphrases_share_few_words():
    """The fixture is honest: paraphrases of one problem share few tokens (not a template)."""
    for p, spec in PLANTED.items():
        sets = [set(tokenize(t)) for t in spec["texts"]]
        assert len(sets) >= 8, p
        jac = [len(a & b) / len(a | b) for i, a in enumerate(sets) for b in sets[i + 1:]]
        assert np.mean(jac) < 0.15, (p, np.mean(jac))


def test_select_candidates_keeps_problems_drops_praise(month_data, cfg):
    frame, planted, noise, cands, _, _ = month_data
    ids = set(cands["feedback_id"])
    assert set().union(*planted.values()) <= ids
    assert noise <= ids
    praise = frame[frame["sentiment"] == "pos"]
    assert not (set(praise["feedback_id"]) & ids)
    # every supervisor report and every mystery-shopper finding is a candidate
    for src in ("supervisor", "survey"):
        assert set(frame.loc[frame["source"] == src, "feedback_id"]) <= ids


def test_select_candidates_month_and_low_scores(cfg):
    fb = pd.DataFrame({
        "feedback_id": ["a", "b", "c", "d"],
        "source": ["questionnaire", "questionnaire", "hotline", "hotline"],
        "received_at": pd.to_datetime(["2025-10-03", "2025-10-04", "2025-10-05", "2025-11-01"]),
        "area": ["A1", "A1", "A5", "A5"],
        "sentiment": ["neu", "neu", "neu", "neg"],
        "request_type": [None, None, "投诉", "投诉"],
        "text": ["办理营业执照时间太长了", "整体还可以吧没有意见", "发票开不出来一直报错", "下个月的投诉内容"],
        "tokens": [["营业执照", "时间"], ["意见"], ["发票", "报错"], ["投诉"]],
        "score_100": [40.0, 80.0, np.nan, np.nan],
    })
    c = select_candidates(fb, cfg, month="2025-10")
    assert list(c["feedback_id"]) == ["a", "c"]
    assert list(c["reason"]) == ["low_score", "complaint"]


def test_each_planted_problem_is_one_clue(month_data):
    _, planted, noise, _, clues, members = month_data
    quality, noise_share = grouping_quality(members, clues, planted, noise)
    specs = {**PLANTED, **HELD_OUT}
    assert len(quality) == 16
    for p, q in quality.items():
        assert q["area"] == specs[p]["area"], (p, q)
        assert q["f1"] >= 0.8, (p, q)
        # within 10% of the planted count, rounded to whole items
        assert abs(q["n_items"] - len(planted[p])) <= max(1, round(0.1 * len(planted[p]))), (p, q)
    # Measured 0.013 (seeds 1-10; 0.14 with the unseen problems added): the noise that joins a
    # clue is about the same object (e.g. 土地证面积不符 joining the property-certificate clue).
    assert noise_share <= 0.2, noise_share
    # noise does not form large clues of its own. Measured: the largest noise-only clue has 5 items,
    # four 供水排水 one-offs (污水管网, 自来水发黄, 水表被偷, 用水报装) that share the water concept, which
    # a Z one-off about 污水 joins through the cross-area merge (4 items before that merge existed).
    size = members.groupby("clue_id").size()
    noise_clues = members[members["feedback_id"].isin(noise)].groupby("clue_id").size()
    for cid, n_noise in noise_clues.items():
        if n_noise / size[cid] > 0.5:
            assert size[cid] <= 5, (cid, size[cid])


def test_framing_is_boilerplate_but_a_misread_problem_sentence_is_not(cfg):
    """A clause in several business areas is framing (来电人称); a problem's own sentence that the
    classifier also put in Z and one other area is content, and stays in every text that has it."""
    from pipeline.clues import _TextSpace

    framing = "来电人情绪激动"
    problem = "附件一到上传就失败"
    texts, areas = [], []
    for i, a in enumerate(["A1", "A3", "A5", "A7", "A9", "A2"]):
        texts.append(f"{framing}，企业反映第{i}个事项办理很慢")
        areas.append(a)
    for a in ["A2", "A2", "Z", "Z", "A9"]:
        texts.append(f"{problem}，施工许可报不上去")
        areas.append(a)
    space = _TextSpace(cfg)
    space._learn_boilerplate(texts, areas)
    assert framing in space.boilerplate
    assert problem not in space.boilerplate
    assert problem in space.content(texts[-1]) and framing not in space.content(texts[0])


def test_concepts_tell_apart_problems_of_one_object(cfg):
    """The concept lexicon names what a complaint is about: a 平台公司 (a public financing vehicle)
    is not an online system, and money a court has collected (执行款) is not a judgment left
    unenforced (different objects, so the pair gets the object-conflict factor)."""
    from pipeline.clues import _TextSpace

    space = _TextSpace(cfg)
    arrears = space.concepts_of("区属平台公司拖欠我们的工程款一年多")
    assert "网上办事系统" not in arrears and "拖欠企业款项" in arrears
    assert "网上办事系统" in space.concepts_of("政务服务平台登录不了")
    paid_in = set(space.concepts_of("执行款早就到了法院账户，几个月了还没转给我们"))
    unenforced = set(space.concepts_of("判决生效半年了，被执行人有车有房就是不履行"))
    assert "执行案款" in paid_in - unenforced and "判决执行" in unenforced - paid_in
    # two programmes, two units: a talent subsidy and an enterprise award conflict as kinds
    texts = ["青年人才生活补贴审核通过后几个月未发放", "企业申报了专精特新奖励，公示之后一直没有拨付"]
    x, _ = space.fit_transform(texts, [list(t) for t in texts], ["A9", "A9"])
    assert space.conflict(x, objects=False)[0, 1]
    # money the court holds and a judgment not enforced: sibling objects, also kinds
    texts = ["执行款早就到了法院账户，几个月了还没转给我们", "判决生效半年了，被执行人有车有房就是不履行"]
    x, _ = space.fit_transform(texts, [list(t) for t in texts], ["A7", "A7"])
    assert space.conflict(x, objects=False)[0, 1]
    # ... also when the money is not called 执行款
    for paid in ("款到法院六个月了，一分钱没拿到", "法院执行到的钱迟迟不给申请人", "钱早就划扣到账了，就是不发给我们"):
        assert "执行案款" in space.concepts_of(paid), paid
    # 强制执行 is the procedure behind both problems, not a sign of the unenforced judgment
    both = set(space.concepts_of("去年申请了强制执行，执行款早就到了法院账户，几个月了还没转给我们"))
    assert "执行案款" in both and "判决执行" not in both
    # a loan not renewed (先还后贷) and a loan not granted (房产抵押拿不出) are two kinds of one object
    renew = set(space.concepts_of("贷款到期了，说好的无还本续贷又不认了，要我们先还后贷"))
    access = set(space.concepts_of("小微企业申请贷款，银行要求房产抵押，我们是轻资产公司拿不出来"))
    assert "抽贷断贷" in renew - access and "融资门槛高" in access - renew


def _fitted(config, texts: list[str], area: str):
    """A text space fitted on ``texts`` (one area, characters as tokens) and their vectors."""
    from pipeline.clues import _TextSpace

    space = _TextSpace(config)
    x, _ = space.fit_transform(texts, [list(t) for t in texts], [area] * len(texts))
    return space, x


def test_different_kinds_of_problem_at_one_object_are_kept_apart(cfg):
    """Both texts are about the service hall; one is about the queue, the other about the staff's
    attitude: a conflict of kinds, so their lexical similarity is scaled down. A text naming both kinds
    conflicts with neither."""
    import copy

    texts = ["政务服务中心大厅排队取号等了两个小时", "政务服务中心大厅窗口工作人员态度很差，爱答不理",
             "政务服务中心大厅排队两个小时，轮到了工作人员态度还很差"]

    def sims(config):
        space, x = _fitted(config, texts, "A9")
        return space.conflict(x), space.sim(x)

    conflict, with_kinds = sims(cfg)
    assert conflict[0, 1] and not conflict[0, 2] and not conflict[1, 2]
    off = copy.deepcopy(cfg)
    off.grouping["kind_concepts"] = []
    conflict_off, without = sims(off)
    assert not conflict_off.any()
    assert with_kinds[0, 1] == pytest.approx(without[0, 1] * cfg.g("object_conflict_factor"))
    assert with_kinds[0, 2] == pytest.approx(without[0, 2])


def test_conflict_only_kinds_separate_debtors_and_change_nothing_else(cfg):
    """``kinds:`` (who owes the money) only takes part in the conflict rule: a public-side arrears
    complaint and a commercial debt complaint conflict; every other similarity is what it would be
    without the section."""
    import copy

    from pipeline.clues import _TextSpace

    texts = ["区属平台公司拖欠我们的工程款一年多", "合作方拖欠服务费，发了律师函也不理",
             "工程款拖了一年多还没结", "政务服务中心排队两个小时"]
    tokens = [list(t) for t in texts]
    assert set(cfg.kinds) >= {"公共部门欠款", "商业欠款"}

    def run(config):
        space = _TextSpace(config)
        x, _ = space.fit_transform(texts, tokens, ["A7", "A7", "A7", "A9"])
        return space, x

    space, x = run(cfg)
    plain = copy.deepcopy(cfg)
    plain.kinds = {}
    space0, x0 = run(plain)
    assert x.shape[1] == x0.shape[1] + len(cfg.kinds)
    conflict = space.conflict(x)
    assert conflict[0, 1] and not conflict[0, 2] and not conflict[1, 2]
    s, s0 = space.sim(x), space0.sim(x0)
    factor = cfg.g("object_conflict_factor")
    assert s[0, 1] == pytest.approx(s0[0, 1] * factor)
    others = ~np.eye(4, dtype=bool)
    others[0, 1] = others[1, 0] = False
    assert np.allclose(s[others], s0[others])


def test_debtor_kinds_split_a_clue_the_word_space_would_join(cfg):
    """Arrears owed by the public side and commercial debts are one topic for the word space; the
    conflict of kinds (``kinds:``, also applied to the semantic part) keeps them in separate clues."""
    import copy

    public = ["区属平台公司拖欠工程款", "国有企业欠施工单位的钱不给", "城投公司结算以后迟迟不付款",
              "平台公司拖着我们的工程尾款"]
    private = ["合作方拖欠服务费，发了律师函也不理", "一家大公司欠货款，送货单都在", "给对方供货之后对方不付款",
               "客户欠的钱要不回来，合作方说没钱"]
    frame = pd.DataFrame({
        "feedback_id": [f"f{i}" for i in range(8)], "text": public + private, "area": "A7", "source": "hotline",
        "sentiment": "neg", "received_at": pd.Timestamp("2026-10-15"), "source_record_id": [str(i) for i in range(8)],
    })
    frame["tokens"] = frame["text"].map(tokenize)

    def mixed(config) -> int:
        _, members = build_clues(frame, "2026-10", None, config)
        sides = members.assign(public=members["feedback_id"].isin({f"f{i}" for i in range(4)}))
        return int((sides.groupby("clue_id")["public"].nunique() > 1).sum())

    off = copy.deepcopy(cfg)
    off.kinds = {}
    assert mixed(off) >= 1  # without the kinds, debtors of both sides share a clue
    assert mixed(cfg) == 0


def test_other_area_is_grouped_by_words_not_by_incidental_concepts(cfg):
    """Three unrelated nuisance letters (fumes, rubbish, night work) that mention inspections and delay in
    passing (监管检查, 频繁反复, 办理时间长) are one clue wherever concepts count; in Z, with
    ``concept_skip_areas: [Z]``, they are compared by their words and stay apart, while in an area of
    the taxonomy the same texts are grouped as before (the real message-board month grew clues of 40-85
    such letters, docs/clues.md)."""
    import copy

    texts = ["小区门口烧烤摊油烟很大，城管来执法过几次，半年了还是老样子",
             "公交站旁边的垃圾堆臭气熏天，反映多次，有关部门来检查后至今没人管",
             "楼下工地夜里施工太吵，环保局被查了好几回，一拖再拖照样施工"]

    def sizes(area: str, skip: list[str]) -> list[int]:
        config = copy.deepcopy(cfg)
        config.grouping["concept_skip_areas"] = skip
        frame = pd.DataFrame({"feedback_id": ["f0", "f1", "f2"], "text": texts, "area": area, "source": "hotline",
                              "sentiment": "neg", "received_at": pd.Timestamp("2026-10-15"),
                              "source_record_id": ["1", "2", "3"]})
        frame["tokens"] = frame["text"].map(tokenize)
        _, members = build_clues(frame, "2026-10", None, config)
        return sorted(members.groupby("clue_id").size().tolist())

    assert "Z" in (cfg.g("concept_skip_areas") or [])
    assert sizes("Z", []) == [3]
    assert sizes("Z", ["Z"]) == []
    assert sizes("A8", ["Z"]) == [3]


def test_word_weights_come_from_the_history_too(cfg):
    """With ``idf_from_history`` the words of a problem that fills this month (车位, 捆绑) keep the
    weight they have over the history, instead of counting little because every other text of the
    month has them."""
    import copy

    from pipeline.clues import _TextSpace

    month = ["伊景园捆绑销售车位", "伊景园强制买车位", "伊景园车位捆绑", "伊景园买房必须买车位", "路灯坏了"]
    history = [["路灯", "不亮"], ["公交", "太慢"], ["垃圾", "没人", "清理"], ["噪音", "扰民"]] * 10
    tokens = [tokenize(t) for t in month]

    def idf(flag: bool) -> dict[str, float]:
        config = copy.deepcopy(cfg)
        config.grouping["idf_from_history"] = flag
        space = _TextSpace(config)
        space.fit_transform(month, tokens, ["Z"] * len(month), history)
        return space.idf_

    assert cfg.g("idf_from_history") is True
    off, on = idf(False), idf(True)
    assert on["车位"] > off["车位"] + 1.0
    assert on["车位"] > on["路灯"]  # rare over the history and the month, unlike 路灯


def test_grouping_without_the_concept_block(month_data, cfg):
    """``concept_weight: 0`` (lexical and semantic blocks only) is a valid setting: the month is still
    grouped (it used to fail in the conflict rule)."""
    import copy

    frame = month_data[0]
    plain = copy.deepcopy(cfg)
    plain.grouping["concept_weight"] = 0.0
    cands = select_candidates(frame, plain, month="2025-10")
    clues, members = build_clues(cands, "2025-10", None, plain)
    assert len(clues) > 0 and set(members["feedback_id"]) <= set(cands["feedback_id"])


def test_kind_concepts_must_be_defined(tmp_path):
    import yaml

    from pipeline.clues import _config_dir

    raw = yaml.safe_load((_config_dir() / "clues.yaml").read_text(encoding="utf-8"))
    raw["grouping"]["kind_concepts"] = ["排队等候", "排对等候"]
    bad = tmp_path / "clues.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="排对等候"):
        load_clue_config(bad)


def test_distinct_problems_in_one_area_stay_apart(month_data):
    _, planted, _, _, clues, members = month_data
    quality, _ = grouping_quality(members, clues, planted, set())
    for a, b in (("P2_power_outage", "P3_power_bill"), ("P2_power_outage", "H5_heating"),
                 ("P6_queue", "P7_attitude"), ("P10_loans", "H6_loan_withdrawal"),
                 ("P8_inspections", "H4_heavy_fines"), ("P1_license_slow", "H1_deregistration")):
        assert quality[a]["clue_id"] != quality[b]["clue_id"], (a, b)


def test_misclassified_members_join_their_problem(cfg):
    """A complaint the classifier put in the wrong area still joins its problem's clue (area smoothing
    by near-duplicates, then the cross-area merge, 跨领域归并), and the clue keeps the area most of its
    members have; with both off, it cannot.

    One wording of every planted problem is read as 其他 (Z) every time it occurs (a classifier is
    deterministic: the same wording gets the same wrong label). Measured (seed 7): mean F1 0.883
    with both mechanisms off, 0.948 with both (smoothing alone 0.929, merge alone 0.948); 29 of the
    36 misread members rejoin their problem's clue, none without; every clue keeps its area.
    """
    import copy

    frame, planted, noise = make_month("2025-10", seed=7)
    cands = select_candidates(frame, cfg, month="2025-10")
    specs = {**PLANTED, **HELD_OUT}
    moved: dict[str, set[str]] = {}
    for p in planted:
        hit = cands["feedback_id"].isin(planted[p]) & cands["text"].str.contains(specs[p]["texts"][0], regex=False)
        moved[p] = set(cands.loc[hit, "feedback_id"])
        cands.loc[hit, "area"] = "Z"
    off = copy.deepcopy(cfg)
    off.grouping["cross_area_threshold"] = None
    off.grouping["area_smoothing_threshold"] = None
    results = {}
    for name, c in (("on", cfg), ("off", off)):
        clues, members = build_clues(cands, "2025-10", None, c)
        quality, _ = grouping_quality(members, clues, planted, noise)
        clue_of = dict(zip(members["feedback_id"], members["clue_id"], strict=True))
        joined = sum(clue_of.get(f) == quality[p]["clue_id"] for p in planted for f in moved[p])
        results[name] = (np.mean([q["f1"] for q in quality.values()]), joined, quality)
    (f1_on, joined_on, q_on), (f1_off, joined_off, _) = results["on"], results["off"]
    n_moved = sum(map(len, moved.values()))
    assert n_moved >= 30
    assert f1_on >= f1_off + 0.04, (f1_on, f1_off)
    assert joined_on >= 0.7 * n_moved and joined_off == 0, (joined_on, joined_off, n_moved)
    assert all(q["area"] == specs[p]["area"] for p, q in q_on.items()), q_on


def test_two_recognised_problems_of_different_areas_stay_two_clues(cfg):
    """The cross-area merge joins misread complaints to their problem; two groups that each hold more
    than ``cross_area_max_smaller`` complaints in their own area are two problems (repeated tax
    inspections in A5, multi-department inspections of restaurants in A8), however alike their wording.
    A misread pair (two restaurant complaints read as A5) still joins the restaurants, and a group in Z
    (the remainder) joins at any size."""
    import copy

    from pipeline.clues import _merge_across_areas, _TextSpace

    tax = ["同一个事项税务已经检查过一次，这次又来查，企业疲于应付"] * 4
    shops = ["同一个问题不同的部门轮流来查，这次又来查，饭店疲于应付"] * 4
    misread = ["同一个问题不同的部门轮番来查，这次又来查，餐馆疲于应付"] * 2
    texts = tax + shops + misread
    areas = np.array(["A5"] * 4 + ["A8"] * 4 + ["A5"] * 2)
    space = _TextSpace(cfg)
    x, _ = space.fit_transform(texts, [list(t) for t in texts], list(areas))
    groups = [("A5", np.arange(0, 4)), ("A8", np.arange(4, 8)), ("A5", np.arange(8, 10))]
    assert space.sim(x[0:1], x[4:5])[0, 0] >= cfg.g("cross_area_threshold")  # alike enough to merge
    rank = {a: i for i, a in enumerate(cfg.area_order)}

    def merged(config, area_of=areas, gs=groups):
        out = _merge_across_areas(space, x, None, area_of, gs, config, rank)
        return sorted(sorted(r.tolist()) for _, r in out)

    assert cfg.g("cross_area_max_smaller") == 3
    assert merged(cfg) == [[0, 1, 2, 3], [4, 5, 6, 7, 8, 9]]
    off = copy.deepcopy(cfg)
    off.grouping["cross_area_max_smaller"] = None
    assert merged(off) == [list(range(10))]  # without the limit the two problems become one clue
    in_z = areas.copy()
    in_z[0:4] = "Z"
    assert merged(cfg, in_z, [("Z", np.arange(0, 4))] + groups[1:]) == [list(range(10))]


def test_an_upload_that_fails_is_a_system_fault(cfg):
    """What is uploaded goes into an online system whether or not the text names one: without 上传 /
    传不上 as its object, 'PDF压缩了好几遍还是传不上去' named no object and got no concept at all."""
    from pipeline.clues import _TextSpace

    space = _TextSpace(cfg)
    for text in ("PDF压缩了好几遍还是传不上去，工期一天天往后推", "在网上报建的时候，一份图纸传了一个下午都没传上",
                 "工改系统上传附件一直失败"):
        assert {"网上办事系统", "系统故障"} <= set(space.concepts_of(text)), text


def test_arrears_of_a_government_project_are_public_without_naming_the_debtor(cfg):
    """A government-funded project is paid after an audit of its settlement (结算审计): such an arrears
    complaint is public-side even when it does not name the 平台公司, and conflicts with a commercial
    debt; it did not, and bridged the two clues."""
    space, x = _fitted(cfg, ["结算审计做完了，工程款拖了一年多还是不付", "一家大公司欠我们货款，拖了一年多",
                             "区属平台公司拖欠工程款一年多"], "A7")
    conflict = space.conflict(x, objects=False)
    assert conflict[0, 1] and conflict[2, 1] and not conflict[0, 2]


def test_a_later_stage_concept_takes_precedence(cfg):
    """concept_precedence: a text about money the court already collected (执行案款) names the
    enforcement (被执行人: 判决执行) only as its story; it conflicts with an unenforced judgment
    as a 执行案款 text does, and without the rule it conflicts with neither."""
    import copy

    texts = ["法院已经把被执行人的钱划扣到账了，就是不给我们", "被执行人名下明明有车有房，执行却一直没有进展",
             "款到法院8个月了，一分钱没拿到"]

    def conflict(config):
        space, x = _fitted(config, texts, "A7")
        return space.conflict(x, objects=False), set(space.concept_names[j] for j in x[0, :space.n_concepts].indices)

    on, named = conflict(cfg)
    assert "执行案款" in named and "判决执行" not in named
    assert on[0, 1] and on[2, 1] and not on[0, 2]
    off = copy.deepcopy(cfg)
    off.grouping["concept_precedence"] = {}
    off_conflict, named_off = conflict(off)
    assert {"执行案款", "判决执行"} <= named_off and not off_conflict[0, 1]


def test_unseen_wordings(cfg):
    """Problems written after the method and lexicon were frozen: generalisation, with a floor.

    Measured (seed 7) with the lexicon and lexical blocks alone: F1 G1 0.32, G2 0.67, G3 0.67,
    G4 0.40 (mean 0.51) — wordings outside the concept lexicon were split into several smaller
    clues. With the learned semantic block (pipeline/clue_space.py): G1 0.67, G2 0.67-0.70,
    G3 0.86, G4 0.80 (mean 0.75); the floor is raised from 0.45 to 0.6 accordingly.
    """
    frame, planted, noise = make_month("2025-10", seed=7, problems=list(PLANTED) + list(HELD_OUT) + list(UNSEEN))
    cands = select_candidates(frame, cfg, month="2025-10")
    clues, members = build_clues(cands, "2025-10", None, cfg)
    quality, _ = grouping_quality(members, clues, planted, noise)
    unseen = [quality[p]["f1"] for p in UNSEEN]
    assert np.mean(unseen) >= 0.6, unseen
    assert min(quality[p]["f1"] for p in list(PLANTED) + list(HELD_OUT)) >= 0.8


def test_clue_frame_contract(month_data, cfg):
    _, planted, _, cands, clues, members = month_data
    assert list(clues.columns) == CLUE_COLUMNS
    assert list(members.columns) == MEMBER_COLUMNS
    assert clues["clue_id"].is_unique
    assert set(members["clue_id"]) == set(clues["clue_id"])
    assert not members["feedback_id"].duplicated().any()
    assert (members.groupby("clue_id").size().reindex(clues["clue_id"]).to_numpy() == clues["n_items"]).all()
    row = clues.iloc[0]
    assert row["clue_id"].startswith("2025-10-" + row["area"] + "-")
    assert 1 <= len(row["examples"]) <= 3 and all(isinstance(e, str) for e in row["examples"])
    assert row["title"] and len(row["title"]) <= 40
    assert 0 <= clues["heat"].min() and clues["heat"].max() <= 100
    assert set(clues["grade"]) <= {"A", "B", "C"}
    assert (clues["first_seen"] <= clues["last_seen"]).all()
    # examples and members carry the masked text as given (phone numbers stay masked)
    assert not members["text"].str.contains(r"1\d{10}").any()
    q, _ = grouping_quality(members, clues, planted, set())
    lic = clues.set_index("clue_id").loc[q["P1_license_slow"]["clue_id"]]
    assert lic["responsible_unit"] == cfg.area_units["A1"]
    assert lic["deadline"] > date(2025, 10, 31)


def test_every_supervisor_report_is_in_a_clue(month_data):
    frame, *_, members = month_data
    sup = set(frame.loc[frame["source"] == "supervisor", "feedback_id"])
    assert sup <= set(members["feedback_id"])


def test_rebuild_gives_same_ids_and_content(month_data, cfg):
    frame, _, _, cands, clues, members = month_data
    # Same month, rows in another order: identical output.
    cands2 = select_candidates(frame.sample(frac=1.0, random_state=99), cfg, month="2025-10")
    clues2, members2 = build_clues(cands2, "2025-10", None, cfg)
    pd.testing.assert_frame_equal(clues, clues2)
    pd.testing.assert_frame_equal(members, members2)


def test_ids_survive_late_feedback_with_existing_members(month_data, cfg):
    frame, planted, _, cands, clues, members = month_data
    late = cands[cands["feedback_id"].isin(planted["P4_tax_refund"])].head(2).copy()
    late["feedback_id"] = ["0000late1", "0000late2"]  # sorts first: would change a min-id hash
    cands3 = pd.concat([cands, late], ignore_index=True)
    plain, _ = build_clues(cands3, "2025-10", None, cfg)
    kept, mem3 = build_clues(cands3, "2025-10", None, cfg, existing_members=members)
    old = grouping_quality(members, clues, planted, set())[0]["P4_tax_refund"]["clue_id"]
    holder = mem3.loc[mem3["feedback_id"] == "0000late1", "clue_id"].iloc[0]
    assert holder == old
    assert old not in set(plain["clue_id"])  # without existing_members the id would have changed
    assert set(clues["clue_id"]) <= set(kept["clue_id"])


def test_recurring_problem_links_to_last_month(cfg):
    prev_frame, prev_planted, prev_noise = make_month(
        "2025-09", seed=3, problems=["P1_license_slow", "P6_queue", "P8_inspections"],
        counts={"P1_license_slow": 12, "P6_queue": 30, "P8_inspections": 10}, with_noise=True)
    pc = select_candidates(prev_frame, cfg, month="2025-09")
    prev_clues, prev_members = build_clues(pc, "2025-09", None, cfg)
    frame, planted, noise = make_month("2025-10", seed=7)
    cands = select_candidates(frame, cfg, month="2025-10")
    for pm in (prev_members, None):  # with member texts, and from description/examples only
        clues, members = build_clues(cands, "2025-10", prev_clues, cfg, previous_members=pm)
        q = grouping_quality(members, clues, planted, noise)[0]
        pq = grouping_quality(prev_members, prev_clues, prev_planted, prev_noise)[0]
        by_id = clues.set_index("clue_id")
        for p in ("P1_license_slow", "P6_queue", "P8_inspections"):
            row = by_id.loc[q[p]["clue_id"]]
            assert row["recurring"] and row["previous_clue_id"] == pq[p]["clue_id"], (p, pm is None)
        for p in ("P2_power_outage", "P4_tax_refund", "P7_attitude", "P9_property_cert"):
            assert not by_id.loc[q[p]["clue_id"], "recurring"], p
    # growth: P1 went from 12 to about 30 items, P6 from 30 to about 22
    comp = by_id["heat_components"]
    assert comp.loc[q["P1_license_slow"]["clue_id"]]["growth"] == 1.0
    assert comp.loc[q["P6_queue"]["clue_id"]]["growth"] == 0.0


def test_heat_orders_by_volume_and_supervisor_weight(cfg):
    from pipeline.clues import grade_for, heat_score

    low, _ = heat_score(3, 2, 0.75, 3, None, 0, cfg)
    high, _ = heat_score(40, 25, 1.0, 40, None, 0, cfg)
    sup, _ = heat_score(3 + 3 * 2, 2, 0.75, 3, None, 1, cfg)
    assert low < sup < high
    assert grade_for(high, ["hotline"], False, 40, cfg) == "A"
    assert grade_for(low, ["hotline"], False, 3, cfg) == "C"
    assert grade_for(low, ["hotline", "supervisor"], False, 3, cfg) == "B"


def test_leader_mode_for_large_areas(cfg):
    """Above exact_max_items the O(n·k) leader pass is used; quality stays acceptable."""
    import copy

    big = copy.deepcopy(cfg)
    big.grouping["exact_max_items"] = 10
    frame, planted, noise = make_month("2025-10", seed=7)
    cands = select_candidates(frame, big, month="2025-10")
    clues, members = build_clues(cands, "2025-10", None, big)
    quality, noise_share = grouping_quality(members, clues, planted, noise)
    assert np.mean([q["f1"] for q in quality.values()]) >= 0.7, quality
    assert noise_share <= 0.2


def test_empty_month(cfg):
    clues, members = build_clues(pd.DataFrame(columns=["feedback_id", "source", "text"]), "2025-10", None, cfg)
    assert clues.empty and members.empty
    assert list(clues.columns) == CLUE_COLUMNS


def test_keyword_extractor_is_used(month_data, cfg):
    _, _, _, cands, _, _ = month_data

    class Fixed:
        def keywords(self, tokens, k=5):
            return ["固定词", "问题"][:k]

    clues, _ = build_clues(cands, "2025-10", None, cfg, keyword_extractor=Fixed())
    assert (clues["keywords"] == "固定词").all()  # 问题 is a title stop word
    assert (clues["title"] == "固定词").all()


def _report(seeds: list[int]) -> None:
    """Print the grouping quality per planted problem (``python tests/test_clues.py [seed ...]``)."""
    cfg = load_clue_config()
    problems = list(PLANTED) + list(HELD_OUT) + list(UNSEEN)
    for seed in seeds:
        for label, probs in (("planted", list(PLANTED) + list(HELD_OUT)), ("with unseen", problems)):
            frame, planted, noise = make_month("2025-10", seed=seed, problems=probs)
            cands = select_candidates(frame, cfg, month="2025-10")
            clues, members = build_clues(cands, "2025-10", None, cfg)
            quality, noise_share = grouping_quality(members, clues, planted, noise)
            print(f"seed {seed} ({label}): {len(cands)} candidates, {len(clues)} clues, "
                  f"noise in clues of >= 5: {noise_share:.3f}")
            for p, q in quality.items():
                print(f"  {p:24s} area {q['area']}  planted {len(planted[p]):3d}  clue {q['n_items']:3d}  "
                      f"P {q['precision']:.2f}  R {q['recall']:.2f}  F1 {q['f1']:.2f}")


def _report_warehouse(url: str, land: str, month: str) -> None:
    """Per planted problem quality of the clues stored in a warehouse (after ``yingshang run`` and
    ``yingshang clues``), e.g. ``python tests/test_clues.py --warehouse sqlite:///var/warehouse.db
    var/landing 2026-10`` after ``make demo``. Every planted member counts."""
    from planted_quality import planted_quality

    f1s = []
    for q in planted_quality(url, land, month):
        f1s.append(q["f1"])
        print(f"  {q['id']} {q['area']} planted {q['planted']:3d}  clue {q['clue_items']:3d} in {q['clue_area']}  "
              f"P {q['precision']:.2f}  R {q['recall']:.2f}  F1 {q['f1']:.2f}  {q['title'][:30]}")
    print(f"  mean F1 {np.mean(f1s):.3f}; F1 >= 0.8: {sum(f >= 0.8 for f in f1s)} of {len(f1s)}")


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--warehouse"]:
        _report_warehouse(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        _report([int(a) for a in sys.argv[1:]] or [7])


def test_responsible_unit_rules(cfg):
    """责任单位: the area's lead unit unless a unit rule's keywords occur in most of the clue's texts."""
    from pipeline.clues import responsible_unit_for

    public_arrears = ["区属平台公司拖欠我们的工程款一年多", "给国有平台公司做分包，结算后一直不付款"]
    assert responsible_unit_for("A7", public_arrears, cfg) == "发展和改革局"
    commercial = ["合作方拖欠服务费，发了律师函也不理", "客户欠货款不还"]
    assert responsible_unit_for("A7", commercial, cfg) == cfg.area_units["A7"]  # the court leads A7
    talent = ["青年人才生活补贴审核通过后几个月未发放", "人才补贴公示了一直没到账"]
    assert responsible_unit_for("A9", talent, cfg) == "人力资源和社会保障局"
    school = ["随迁子女入学材料审核没通过，说是缺社保证明", "孩子入学被要求补交社保证明"]
    assert responsible_unit_for("A9", school, cfg) == "教育局"  # a 社保证明 for school is not an 人社 matter
    # below the share, the lead unit
    assert responsible_unit_for("A9", talent[:1] + ["政务服务中心排队两个小时", "窗口态度差"], cfg) == cfg.area_units["A9"]
    assert responsible_unit_for("A3", ["小区停水三天了", "自来水水压太低"], cfg) == "水务集团"


def test_title_is_the_key_clause_of_the_members(cfg):
    """问题标题 reads as a sentence taken from the members (the clause with most of the clue's keywords,
    naming a kind of problem), not as a word list; ``title_style: keywords`` gives the word list."""
    import copy

    texts = ["来电人称：我们是祥润花园小区的业主，交房五年了还办不了房产证，请尽快处理",
             "祥润花园交房多年办不了房产证，孩子上学没法报名",
             "您好，我们是祥润花园的业主。祥润花园的房产证一直办不下来，开发商说在办",
             "祥润花园业主反映房产证办不下来"]
    frame = pd.DataFrame({"feedback_id": [f"t{i}" for i in range(4)], "text": texts, "area": "A4",
                          "source": "hotline", "sentiment": "neg", "received_at": pd.Timestamp("2026-10-15"),
                          "source_record_id": [str(i) for i in range(4)]})
    frame["tokens"] = frame["text"].map(tokenize)
    clues, _ = build_clues(frame, "2026-10", None, cfg)
    assert len(clues) == 1
    title, keywords = clues.iloc[0]["title"], clues.iloc[0]["keywords"].split(",")
    assert all(any(c in t for t in texts) for c in title.split("，"))  # clauses of the members, verbatim
    assert sum(w in title for w in keywords) >= 2
    assert len(title) <= cfg.g("title_max_chars")
    assert "业主" not in title or "房产证" in title             # not the bare framing clause
    words = copy.deepcopy(cfg)
    words.grouping["title_style"] = "keywords"
    clues, _ = build_clues(frame, "2026-10", None, words)
    assert "、" in clues.iloc[0]["title"] and not any(clues.iloc[0]["title"] in t for t in texts)


def test_orders_without_a_described_problem_are_no_candidates(cfg):
    """A work order that only records that the caller described nothing (来电人反映问题后挂断电话,
    未说明具体地点, 表述不清) is no clue candidate: the demo month's list had clues of 8 and 5 such orders,
    and one joined the 用电增容 clue. An order with a description beside such a phrase still is."""
    texts = ["来电人反应问题后挂断电话。请帮忙督促一下。", "来电反映问题，未说明具体地点。", "来电人表述不清，要求有关部门给个说法",
             "来电人反映问题后挂断电话。希望能够妥善解决。", "来电人反应问题后挂断电话。请领导帮忙协调解决。",
             "路灯坏了，来电人未说明具体地点", "来电人反映小区停水三天后挂断电话", "营业执照办理太慢"]
    fb = pd.DataFrame({
        "feedback_id": [f"f{i}" for i in range(len(texts))], "source": "hotline",
        "received_at": pd.to_datetime("2026-10-05"), "area": "Z", "sentiment": "neg", "request_type": "投诉",
        "text": texts, "tokens": [[] for _ in texts], "score_100": np.nan,
    })
    got = set(select_candidates(fb, cfg, month="2026-10")["text"])
    assert got == set(texts[5:])
