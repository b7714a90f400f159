// Package quantity renders Kubernetes quantities as people read numbers:
// the metrics APIs serve 102312m, which means 102.312.
package quantity

import (
	"strconv"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Decode renders q as a plain decimal number: 102312m → 102.312.
func Decode(q resource.Quantity) string {
	return Format(q.AsApproximateFloat64())
}

// Format renders f with as many digits as it needs, at most three decimals.
func Format(f float64) string {
	return strconv.FormatFloat(float64(int64(f*1000+sign(f)*0.5))/1000, 'f', -1, 64)
}

func sign(f float64) float64 {
	if f < 0 {
		return -1
	}
	return 1
}

// DecodeString decodes a quantity written as a string; anything else is
// returned unchanged.
func DecodeString(s string) string {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return s
	}
	return Decode(q)
}
