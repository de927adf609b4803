package names

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Similar names are the names a searcher could confuse with the one typed.
// The register offers them beside a name search's certified result, so that
// a slip of the keyboard, or a grantor that renamed itself, does not hide a
// security interest. Two organization names are similar when their search
// keys differ and either
//
//   - one slip apart: one character changed, dropped or added anywhere in
//     the key (the first included), or two neighbours swapped, unless that
//     slip replaces the whole distinctive part (上海甲有限公司 and
//     上海乙有限公司 are two companies, not a typo); or
//   - the same firm: the same distinctive part (at least two characters, or
//     four letters) in the same region, whatever the industry and legal-form
//     words around it (上海星辰精密机械有限公司 and 上海星辰智能装备股份有限公司:
//     a rename, or a sister company, that a lender wants to see).
//
// The distinctive part of a Chinese enterprise name is its trade name (字号):
// what is left when the administrative-region prefix, the legal form at the
// end (有限公司, 股份有限公司, 集团…) and the industry words before it are
// taken away (上海 | 星辰 | 精密机械 | 有限公司). Names that share only a
// region and 有限公司 are therefore never similar. The distinctive part of a
// Latin-script name is its words without the noise words that carry no
// weight in a search (IACA Model Administrative Rules, rule 503: articles,
// "and", "of", and legal-form words wherever they stand).
//
// One slip apart ranks before the same firm; both are advice and never part
// of a certified result.

// Similarity is how two names are similar, in rank order; NotSimilar is 0.
type Similarity int

// The kinds of similarity, best first.
const (
	NotSimilar Similarity = iota
	OneSlip
	SameFirm
)

// NameParts is a name split for similarity: its search key, its region
// prefix (Chinese names only) and its distinctive part.
type NameParts struct {
	Key         string
	Region      string
	Distinctive string
	Latin       bool
}

// Parts splits an organization's name for similarity; key is its search key
// (Normalize(name).Key), given because callers already hold it.
func Parts(name, key string) NameParts {
	p := NameParts{Key: key}
	if !hasHan(key) && hasLatin(key) {
		p.Latin = true
		p.Distinctive = latinDistinctive(name)
		return p
	}
	rest := key
	p.Region, rest = cutRegion(rest)
	rest = cutForms(rest)
	rest = cutIndustries(rest)
	p.Distinctive = rest
	return p
}

// Compare says how similar two split names are.
func Compare(a, b NameParts) Similarity {
	if a.Key == b.Key || a.Key == "" || b.Key == "" {
		return NotSimilar
	}
	if oneSlip(a.Key, b.Key) && !(a.Distinctive != "" && b.Distinctive != "" && wholly(a.Distinctive, b.Distinctive)) {
		return OneSlip
	}
	if a.Latin == b.Latin && a.Region == b.Region && a.Distinctive == b.Distinctive && substantial(a) {
		return SameFirm
	}
	return NotSimilar
}

// FirmKey is what two names of the same firm share (region and distinctive
// part), or "" when the distinctive part is too short to stand for a firm.
func (p NameParts) FirmKey() string {
	if !substantial(p) {
		return ""
	}
	if p.Latin {
		return "L|" + p.Distinctive
	}
	return p.Region + "|" + p.Distinctive
}

func substantial(p NameParts) bool {
	n := utf8.RuneCountInString(p.Distinctive)
	if p.Latin {
		return n >= 4
	}
	return n >= 2
}

// wholly reports whether one slip turned one distinctive part into another
// with nothing in common: both a single character (or letter) long.
func wholly(a, b string) bool {
	return utf8.RuneCountInString(a) == 1 && utf8.RuneCountInString(b) == 1 && a != b
}

// oneSlip reports whether a and b differ by exactly one changed, dropped or
// added character, or one swap of neighbours.
func oneSlip(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) < len(rb) {
		ra, rb = rb, ra
	}
	switch len(ra) - len(rb) {
	case 0:
		i := 0
		for i < len(ra) && ra[i] == rb[i] {
			i++
		}
		if i == len(ra) {
			return false
		}
		if string(ra[i+1:]) == string(rb[i+1:]) {
			return true
		}
		return i+1 < len(ra) && ra[i] == rb[i+1] && ra[i+1] == rb[i] && string(ra[i+2:]) == string(rb[i+2:])
	case 1:
		i := 0
		for i < len(rb) && ra[i] == rb[i] {
			i++
		}
		return string(ra[i+1:]) == string(rb[i:])
	}
	return false
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

func hasLatin(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Latin, r) {
			return true
		}
	}
	return false
}

// latinNoise are the words of a Latin-script name that carry no weight in
// a search, wherever they stand: articles and joining words, and the
// legal-form words (legalFormWords) that rule 503 drops at the end.
var latinNoise = map[string]bool{"the": true, "a": true, "an": true, "and": true, "of": true, "for": true, "group": true, "holding": true, "holdings": true}

func latinDistinctive(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return r
	}, norm.NFD.String(folder.String(norm.NFKC.String(name))))
	name = strings.NewReplacer("&", " and ", ".", "", "'", "", "’", "").Replace(name)
	words := strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	kept := words[:0]
	for i, w := range words {
		if latinNoise[w] || legalFormWords[w] || i == len(words)-1 && len(w) >= 2 && nearLegalForm(w) {
			continue
		}
		kept = append(kept, w)
	}
	return strings.Join(kept, " ")
}

// regions are the administrative divisions a Chinese enterprise name opens
// with: every province-level division and the larger prefecture-level
// cities (GB/T 2260), without their 省, 市 or 自治区, which cutRegion also
// takes.
var regions = strings.Fields(`北京 天津 上海 重庆 河北 山西 内蒙古 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 广西 海南 四川 贵州 云南 西藏 陕西 甘肃 青海 宁夏 新疆 香港 澳门 台湾
中国 中华
石家庄 唐山 秦皇岛 邯郸 保定 廊坊 沧州 太原 大同 呼和浩特 包头 鄂尔多斯 沈阳 大连 鞍山 抚顺 丹东 锦州 营口 长春 吉林 哈尔滨 齐齐哈尔 大庆
南京 无锡 徐州 常州 苏州 南通 连云港 淮安 盐城 扬州 镇江 泰州 宿迁 昆山 江阴 张家港 杭州 宁波 温州 嘉兴 湖州 绍兴 金华 衢州 舟山 台州 丽水 义乌
合肥 芜湖 蚌埠 马鞍山 安庆 福州 厦门 莆田 泉州 漳州 南昌 赣州 九江 济南 青岛 淄博 烟台 潍坊 济宁 泰安 威海 日照 临沂 郑州 洛阳 开封 新乡 南阳
武汉 宜昌 襄阳 长沙 株洲 湘潭 岳阳 常德 广州 深圳 珠海 汕头 佛山 江门 湛江 茂名 肇庆 惠州 梅州 东莞 中山 清远 揭阳 南宁 柳州 桂林 北海 海口 三亚
成都 绵阳 德阳 宜宾 南充 泸州 贵阳 遵义 昆明 大理 拉萨 西安 宝鸡 咸阳 榆林 兰州 西宁 银川 乌鲁木齐 浦东 滨海 雄安`)

var regionSuffixes = []string{"特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市", "区", "县"}

// cutRegion takes the longest region prefix, with its suffix, off key.
func cutRegion(key string) (region, rest string) {
	for _, r := range regions {
		if len(r) > len(region) && strings.HasPrefix(key, r) {
			region = r
		}
	}
	if region == "" {
		return "", key
	}
	rest = key[len(region):]
	for _, s := range regionSuffixes {
		if strings.HasPrefix(rest, s) {
			rest = rest[len(s):]
			break
		}
	}
	// A second division named with its kind, such as 上海市浦东新区, belongs
	// to the region too (without its kind it may be the trade name).
	for _, r := range regions {
		if !strings.HasPrefix(rest, r) {
			continue
		}
		for _, s := range []string{"新区", "区", "县", "市"} {
			if strings.HasPrefix(rest[len(r):], s) {
				return region, rest[len(r)+len(s):]
			}
		}
	}
	return region, rest
}

// legalForms end a Chinese enterprise name; 集团 is taken wherever it stands.
var legalForms = []string{"股份有限公司", "有限责任公司", "有限公司", "股份公司", "合伙企业", "有限合伙", "普通合伙", "个人独资企业", "分公司", "总公司", "公司", "企业", "厂"}

func cutForms(rest string) string {
	rest = strings.ReplaceAll(rest, "集团", "")
	for changed := true; changed; {
		changed = false
		for _, f := range legalForms {
			if strings.HasSuffix(rest, f) && len(rest) > len(f) {
				rest, changed = rest[:len(rest)-len(f)], true
				break
			}
		}
	}
	return rest
}

// industries are the industry words (行业表述) a Chinese enterprise name
// puts between its trade name and its legal form.
var industries = strings.Fields(`科技 技术 信息技术 网络科技 信息科技 智能科技 电子科技 生物科技 环保科技 新材料科技
机械制造 机械 制造 精密机械 精密仪器 仪器 仪表 设备 装备 智能装备 航空设备 工程机械 自动化
物流 冷链物流 国际物流 供应链管理 供应链 运输 货运 国际贸易 贸易 商贸 进出口 实业 投资 控股 投资管理 资产管理 管理 发展 农业发展
电子 电器 电气 电力 光电 半导体 通信 软件 数据 网络 信息 建材 建筑 建设 工程 建筑工程 船舶工程 船舶 房地产开发 房地产 置业
医药 生物 医疗器械 食品 餐饮 纺织 服饰 服装 化工 新能源 能源 汽车零部件 汽车 零部件 汽车销售 农业 环保 包装材料 包装 材料 新材料
钢铁 金属 五金 塑料 橡胶 印刷 家具 家居 文化传媒 传媒 文化 广告 咨询 服务 商务 融资租赁 租赁 商业保理 保理 金融 担保 小额贷款`)

func cutIndustries(rest string) string {
	for changed := true; changed; {
		changed = false
		best := ""
		for _, w := range industries {
			if len(w) > len(best) && strings.HasSuffix(rest, w) && utf8.RuneCountInString(rest[:len(rest)-len(w)]) >= 2 {
				best = w
			}
		}
		if best != "" {
			rest, changed = rest[:len(rest)-len(best)], true
		}
	}
	return rest
}

// nearLegalForm reports whether a last word is a legal-form word with a
// slip in it ("Limted", "Corp"): it weighs no more than the word meant.
func nearLegalForm(w string) bool {
	for f := range legalFormWords {
		if len(f) >= 3 && oneSlip(w, f) {
			return true
		}
	}
	return false
}

// LegalFormSlips are the keys a Latin-script search key may have been meant
// as when the slip fell in its legal-form words, which the key drops only
// when they are typed right ("Acme Trading Lt", "Acme TradingLtd",
// "Acme Trading nc"): the key with an ending one slip from a legal-form word
// taken away, and then any legal-form words before it.
func LegalFormSlips(key string) []string {
	if hasHan(key) || !hasLatin(key) {
		return nil
	}
	var out []string
	seen := map[string]bool{key: true}
	for f := range legalFormWords {
		for l := len(f) - 1; l <= len(f)+1; l++ {
			if l < 1 || len(key)-l < 3 {
				continue
			}
			if end := key[len(key)-l:]; end != f && !oneSlip(end, f) {
				continue
			}
			for v := key[:len(key)-l]; len(v) >= 3 && !seen[v]; v = trimLegalForm(v) {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	sort.Strings(out)
	return out
}

// trimLegalForm takes the longest legal-form word off the end of a key, or
// returns it unchanged.
func trimLegalForm(key string) string {
	best := ""
	for f := range legalFormWords {
		if len(f) > len(best) && strings.HasSuffix(key, f) {
			best = f
		}
	}
	return key[:len(key)-len(best)]
}
