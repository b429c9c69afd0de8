package network

import (
	"fmt"
	"math/big"
	"net/netip"
)

// Subnet returns the index-th block of length base.Bits()+newBits inside base, the way
// Terraform's cidrsubnet does, so that subnet addresses are known at preview time.
func Subnet(base netip.Prefix, newBits, index int) (netip.Prefix, error) {
	bits := base.Bits() + newBits
	if newBits <= 0 || bits > base.Addr().BitLen() {
		return netip.Prefix{}, fmt.Errorf("cannot add %d bits to %s", newBits, base)
	}
	if index < 0 || index >= 1<<newBits {
		return netip.Prefix{}, fmt.Errorf("%s holds %d /%d subnets, not %d",
			base, 1<<newBits, bits, index+1)
	}
	addr := new(big.Int).SetBytes(base.Masked().Addr().AsSlice())
	step := new(big.Int).Lsh(big.NewInt(int64(index)), uint(base.Addr().BitLen()-bits))
	addr.Add(addr, step)
	raw := addr.FillBytes(make([]byte, base.Addr().BitLen()/8))
	out, _ := netip.AddrFromSlice(raw)
	return netip.PrefixFrom(out, bits), nil
}

// Host returns the n-th address of a prefix, for addresses fixed in advance such as node IPs.
// AWS reserves the first four addresses and the last one of every subnet.
func Host(p netip.Prefix, n int) (netip.Addr, error) {
	size := 1 << (p.Addr().BitLen() - p.Bits())
	if n < 4 || n >= size-1 {
		return netip.Addr{}, fmt.Errorf("host %d is outside the usable range 4..%d of %s",
			n, size-2, p)
	}
	addr := new(big.Int).SetBytes(p.Masked().Addr().AsSlice())
	addr.Add(addr, big.NewInt(int64(n)))
	raw := addr.FillBytes(make([]byte, p.Addr().BitLen()/8))
	out, _ := netip.AddrFromSlice(raw)
	return out, nil
}
