package transcript

import (
	"bytes"
	"strconv"
)

// This file holds ccusage 20.0.24's rules for a usage line besides its
// JSON (docs/transcripts.md): the timestamp and version formats, and the
// reset time of an old usage-limit error. The null rule is in
// transcript_null.go.

// txTimestamp parses a timestamp as ccusage does (its parse_ts_timestamp):
// exactly YYYY-MM-DDTHH:MM:SS, optionally .mmm (three digits), then Z or
// ±HH:MM; it returns Unix milliseconds.
func txTimestamp(b []byte) (int64, bool) {
	var ms int64
	var tz int
	switch {
	case (len(b) == 20 || len(b) == 25) && (b[19] == 'Z' || b[19] == '+' || b[19] == '-'):
		tz = 19
	case (len(b) == 24 || len(b) == 29) && b[19] == '.':
		v, ok := txDigits(b[20:23])
		if !ok {
			return 0, false
		}
		ms, tz = int64(v), 23
	default:
		return 0, false
	}
	if b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	year, ok1 := txDigits(b[0:4])
	month, ok2 := txDigits(b[5:7])
	day, ok3 := txDigits(b[8:10])
	hour, ok4 := txDigits(b[11:13])
	minute, ok5 := txDigits(b[14:16])
	second, ok6 := txDigits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || hour > 23 || minute > 59 || second > 59 {
		return 0, false
	}
	var offset int64
	switch z := b[tz:]; {
	case len(z) == 1 && z[0] == 'Z':
	case len(z) == 6 && (z[0] == '+' || z[0] == '-') && z[3] == ':':
		h, ok1 := txDigits(z[1:3])
		m, ok2 := txDigits(z[4:6])
		if !ok1 || !ok2 {
			return 0, false
		}
		offset = int64(h*60 + m)
		if z[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	if month < 1 || month > 12 || day < 1 || day > txDaysIn(year, month) {
		return 0, false
	}
	days := txDaysFromCivil(int64(year), int64(month), int64(day))
	return ((days*24+int64(hour))*60+int64(minute)-offset)*60_000 + int64(second)*1000 + ms, true
}

func txDigits(b []byte) (int, bool) {
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func txDaysIn(year, month int) int {
	switch month {
	case 2:
		if (year%4 == 0 && year%100 != 0) || year%400 == 0 {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// txDaysFromCivil is the day number of a date, 0 being 1970-01-01.
func txDaysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// txSemver reports whether v starts like d.d.d (ccusage's is_semver_prefix).
func txSemver(v []byte) bool {
	i := 0
	for part := 0; part < 2; part++ {
		start := i
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		if i == start || i >= len(v) || v[i] != '.' {
			return false
		}
		i++
	}
	return i < len(v) && v[i] >= '0' && v[i] <= '9'
}

// txResetTime finds the reset time of an old-style usage-limit message
// ("Claude AI usage limit reached|<unix seconds>") in an API error line, as
// Unix milliseconds.
func txResetTime(line []byte) (int64, bool) {
	i := bytes.Index(line, []byte("Claude AI usage limit reached"))
	if i < 0 {
		return 0, false
	}
	j := bytes.IndexByte(line[i:], '|')
	if j < 0 {
		return 0, false
	}
	start := i + j + 1
	end := start
	for end < len(line) && line[end] >= '0' && line[end] <= '9' {
		end++
	}
	if end == start {
		return 0, false
	}
	sec, err := strconv.ParseInt(string(line[start:end]), 10, 64)
	if err != nil || sec <= 0 || sec > 1<<53/1000 {
		return 0, false
	}
	return sec * 1000, true
}
