// Package quantity renders Kubernetes quantities as people read numbers:
// the metrics APIs serve 102312m, which means 102.312.
package quantity

import (
	"math"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Decode renders q as a plain decimal number: 102312m → 102.312.
func Decode(q resource.Quantity) string {
	return Format(q.AsApproximateFloat64())
}

// Format renders f with as many digits as it needs, at most three decimals.
func Format(f float64) string {
	if math.Abs(f) < 1e15 {
		// Beyond that a float64 holds no decimals, and f*1000 could lose
		// digits.
		f = math.Round(f*1000) / 1000
		if f == 0 {
			f = 0 // not -0
		}
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// DecodeString decodes a quantity written as a string; anything else is
// returned unchanged, and so is a quantity whose exponent is beyond any
// float64 (resource.ParseQuantity would take forever on "1E1000000000000":
// it keeps the exponent as an int32 that wraps to an enormous scale).
func DecodeString(s string) string {
	if hugeExponent(s) {
		return s
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return s
	}
	return Decode(q)
}

// maxExponent is more than a float64's largest decimal exponent (308).
const maxExponent = 400

// hugeExponent reports whether s ends in a decimal exponent ("e" or "E",
// a sign and digits) beyond ±maxExponent.
func hugeExponent(s string) bool {
	i := strings.LastIndexAny(s, "eE")
	if i < 0 {
		return false
	}
	digits := strings.TrimLeft(s[i+1:], "+-")
	if digits == "" || len(s[i+1:])-len(digits) > 1 || strings.TrimLeft(digits, "0123456789") != "" {
		return false
	}
	digits = strings.TrimLeft(digits, "0")
	return len(digits) > 3 || (digits != "" && mustAtoi(digits) > maxExponent)
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
