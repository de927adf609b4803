package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/movable-registry/registry/internal/registry"
)

// The generator makes a register that looks like a real one: Chinese
// enterprise names of region, trade name, industry and legal form; USCCs
// and identity numbers whose check characters are right; vehicle VINs and
// equipment serials; the kinds and periods banks file. Everything derives
// from an index, so registration i is the same on every run, and the
// grantor of registrations 2g and 2g+1 is company g: a name search finds two.

type region struct{ name, division string }

var regions = []region{
	{"上海", "310115"}, {"北京", "110105"}, {"深圳", "440300"}, {"广州", "440106"}, {"杭州", "330106"},
	{"南京", "320105"}, {"苏州", "320505"}, {"成都", "510107"}, {"武汉", "420106"}, {"天津", "120116"},
	{"重庆", "500103"}, {"西安", "610113"}, {"青岛", "370212"}, {"宁波", "330212"}, {"厦门", "350206"},
	{"长沙", "430104"}, {"郑州", "410105"}, {"合肥", "340104"}, {"济南", "370102"}, {"无锡", "320214"},
	{"佛山", "440604"}, {"东莞", "441900"}, {"沈阳", "210106"}, {"大连", "210213"}, {"福州", "350102"},
	{"昆明", "530102"}, {"南昌", "360111"}, {"温州", "330302"}, {"常州", "320411"}, {"石家庄", "130104"},
}

var tradeChars = []rune("华信达盛恒通瑞泰鑫隆宏源嘉丰兴远昌德安和金明辉新永康正中天海星光博润祥凯联创宇腾")

var industries = []string{"科技", "机械制造", "物流", "国际贸易", "电子", "建材", "医药", "食品", "纺织", "化工",
	"汽车零部件", "新能源", "精密仪器", "供应链管理", "农业发展", "船舶工程", "环保科技", "信息技术", "包装材料", "钢铁",
	"家具", "服饰", "冷链物流", "航空设备"}

var forms = []string{"有限公司", "股份有限公司", "有限责任公司"}

var surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
var givenNames = []string{"伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀英", "建华", "志强", "海燕", "晓东"}

// companies is how many distinct company names the scheme makes.
var companies = int64(len(regions) * len(tradeChars) * len(tradeChars) * len(tradeChars) * len(industries) * len(forms))

// scramble maps 0..companies-1 onto itself, so that neighbouring indexes
// get unrelated names (a multiplier prime to every radix).
func scramble(g int64) int64 { return (g*2654435761 + 97) % companies }

// Company is generated company g.
type Company struct {
	Name, USCC string
	Region     region
}

func company(g int64) Company {
	x := scramble(g)
	pick := func(n int) int { i := int(x % int64(n)); x /= int64(n); return i }
	r := regions[pick(len(regions))]
	trade := string([]rune{tradeChars[pick(len(tradeChars))], tradeChars[pick(len(tradeChars))], tradeChars[pick(len(tradeChars))]})
	name := r.name + trade + industries[pick(len(industries))] + forms[pick(len(forms))]
	return Company{Name: name, USCC: uscc(r.division, g), Region: r}
}

const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
var orgCodeWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// uscc makes a Unified Social Credit Code (GB 32100-2015) for an enterprise
// (9 1) in a division, around an organization code (GB 11714) derived from
// serial, with both check characters right.
func uscc(division string, serial int64) string {
	body := fmt.Sprintf("%08d", serial%100_000_000)
	sum := 0
	for i := range 8 {
		sum += int(body[i]-'0') * orgCodeWeights[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		body += "X"
	case 11:
		body += "0"
	default:
		body += string(rune('0' + c))
	}
	code := "91" + division + body
	sum = 0
	for i := range 17 {
		sum += strings.IndexByte(usccAlphabet, code[i]) * usccWeights[i]
	}
	return code + string(usccAlphabet[(31-sum%31)%31])
}

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idNumber makes a resident identity number (GB 11643-1999) with a right
// check character.
func idNumber(division string, serial int64) string {
	born := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(serial%14000))
	body := fmt.Sprintf("%s%s%03d", division, born.Format("20060102"), serial%1000)
	sum := 0
	for i := range 17 {
		sum += int(body[i]-'0') * idWeights[i]
	}
	return body + string("10X98765432"[sum%11])
}

var vinMakers = []string{"LSV", "LFV", "LHG", "LGB", "LVS", "LDC", "LZW", "LGX"}

// vin makes a 17-character vehicle identification number with its check
// digit (position 9) computed as ISO 3779 and GB 16735 do.
func vin(serial int64) string {
	b := []byte(vinMakers[serial%int64(len(vinMakers))] + "AB2C" + "4" + "0" + "RK" + fmt.Sprintf("%06d", serial%1_000_000))
	b[8] = '0'
	values := map[byte]int{}
	for i, c := range "ABCDEFGH" {
		values[byte(c)] = i + 1
	}
	for i, c := range "JKLMN" {
		values[byte(c)] = i + 1
	}
	values['P'], values['R'] = 7, 9
	for i, c := range "STUVWXYZ" {
		values[byte(c)] = i + 2
	}
	weights := []int{8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2}
	sum := 0
	for i, c := range b {
		v := int(c - '0')
		if c > '9' {
			v = values[c]
		}
		sum += v * weights[i]
	}
	if c := sum % 11; c == 10 {
		b[8] = 'X'
	} else {
		b[8] = byte('0' + c)
	}
	return string(b)
}

var equipmentMakers = []string{"XCMG-ZL50G", "SANY-SY215C", "ZOOMLION-ZE205E", "DMG-DMU50", "HAAS-VF2", "LINDE-H25", "LIUGONG-CLG856", "TRUMPF-TC5000"}

var kindMix = []string{"chattel_mortgage", "chattel_mortgage", "chattel_mortgage", "chattel_mortgage", "chattel_mortgage", "chattel_mortgage", "chattel_mortgage",
	"receivables_pledge", "receivables_pledge", "receivables_pledge", "receivables_pledge",
	"financial_lease", "financial_lease", "financial_lease", "financial_lease",
	"factoring", "factoring", "retention_of_title", "retention_of_title", "document_pledge"}

var periods = []int{6, 12, 12, 12, 24, 24, 36, 36, 60, 120}

// Bank is an organization that files and searches in the benchmark.
type Bank struct {
	Company
	ID, Token string
}

// filing makes filing i, by bank: the grantor is company i/2 (an
// individual for one in eight), the bank the secured party, and up to three
// serial-numbered items.
func filing(i int64, bank Company) registry.Filing {
	g := i / 2
	c := company(g)
	// What the 2021 Measures ask of every party: an address, and of a
	// mainland organization its legal representative.
	person := func(k int64) string {
		return string(surnames[k%int64(len(surnames))]) + givenNames[(k/int64(len(surnames)))%int64(len(givenNames))]
	}
	address := func(k int64, region string) string {
		return fmt.Sprintf("%s经济开发区工业路%d号", region, 1+k%999)
	}
	grantor := registry.Party{Type: "organization", Name: c.Name, USCC: c.USCC, Address: address(g, c.Region.name), LegalRepresentative: person(g + 1)}
	if g%8 == 7 {
		grantor = registry.Party{Type: "individual", Name: person(g), IDNumber: idNumber(c.Region.division, g), Address: address(g, c.Region.name)}
	}
	kind := kindMix[i%int64(len(kindMix))]
	f := registry.Filing{
		Kind:     kind,
		Grantors: []registry.Party{grantor},
		SecuredParties: []registry.Party{{Type: "organization", Name: bank.Name, USCC: bank.USCC,
			Address: address(int64(len(bank.Name)), bank.Region.name), LegalRepresentative: person(int64(len(bank.Name)) + 7)}},
		AgreedWithGrantor: true,
		PeriodMonths:      periods[i%int64(len(periods))],
		MaxSecuredAmount:  &registry.Money{Amount: fmt.Sprintf("%d0000.00", 50+i%5000), Currency: "CNY"},
		Reference:         fmt.Sprintf("LN-%d-%07d", 2020+i%7, i%10_000_000),
	}
	switch kind {
	case "receivables_pledge", "factoring":
		f.Collateral.Description = fmt.Sprintf("%s对其下游客户的全部应收账款，合同编号HT-%07d及其项下全部权益", c.Region.name+"分公司", i%10_000_000)
	default:
		n := int(i % 4)
		f.Collateral.Description = fmt.Sprintf("位于%s厂区的生产设备及运输车辆共%d台，含全部附属设施与备件", c.Region.name, n+1)
		for k := range n {
			if k == 0 && i%3 == 0 {
				f.Collateral.Items = append(f.Collateral.Items, registry.ItemInput{Type: "vehicle", SerialNumber: vin(i), Description: "重型载货汽车"})
				continue
			}
			f.Collateral.Items = append(f.Collateral.Items, registry.ItemInput{Type: "equipment",
				SerialNumber: fmt.Sprintf("%s-%d-%06d", equipmentMakers[(i+int64(k))%int64(len(equipmentMakers))], 2015+i%10, (i*3+int64(k))%1_000_000),
				Description:  "生产设备"})
		}
	}
	return f
}

// bankCompany is the company behind bench bank b, named apart from the
// grantors (an index past any register's).
func bankCompany(b int) Company {
	c := company(companies - 1 - int64(b))
	c.Name = c.Region.name + "银行股份有限公司第" + fmt.Sprint(b+1) + "支行"
	return c
}
