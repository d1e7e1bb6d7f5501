//! A bounded TCP flow table keyed by (client address, client port, VIP port).
//!
//! Under a SYN flood every packet is a new flow, so the table is capped and evicts the oldest
//! flow first (FIFO: a flood's flows are all alike, and FIFO costs one deque push per flow
//! where LRU would cost a list update per packet). Evicted flows are folded into the totals
//! before they go, so counts stay exact; only per-flow detail is lost, and the eviction count
//! is reported.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A fast non-cryptographic hasher (the keys are addresses from a capture file; a hostile
/// file can at worst make lookups slower, never unbounded in memory).
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64)
    }
    fn write_u16(&mut self, i: u16) {
        self.write_u64(i as u64)
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64)
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64)
    }
    fn finish(&self) -> u64 {
        // murmur3's finaliser: spreads entropy into the high bits the hash table uses.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    /// IPv4 addresses are stored as IPv4-mapped IPv6.
    pub client: u128,
    pub client_port: u16,
    pub vip_port: u16,
}

impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.client as u64);
        state.write_u64((self.client >> 64) as u64 ^ ((self.client_port as u64) << 16 | self.vip_port as u64));
    }
}

pub const NO_MAC: u16 = u16::MAX;

pub mod state {
    pub const ANSWERED: u8 = 1;
    pub const COMPLETED: u8 = 2;
    pub const RESET: u8 = 4;
    pub const REFUSED: u8 = 8;
    /// The SYN had the flood signature.
    pub const BARE: u8 = 16;
}

/// What is kept per flow; small, because a flood fills the table.
#[derive(Debug, Clone, Copy)]
pub struct Flow {
    pub syn_packet: u64,
    pub syn_ts: f64,
    pub syn_seq: u32,
    /// Interned MAC indexes (NO_MAC when unknown).
    pub client_mac: u16,
    pub first_dst_mac: u16,
    /// Where a forwarding device re-sent the SYN (seen only when the capture port sees it).
    pub forwarded_to: u16,
    pub answer_mac: u16,
    pub synack_ts: f64,
    pub synack_fp: u16,
    pub syns: u16,
    pub state: u8,
}

impl Flow {
    pub fn new(syn_packet: u64, syn_ts: f64, syn_seq: u32, client_mac: u16, dst_mac: u16) -> Self {
        Flow {
            syn_packet,
            syn_ts,
            syn_seq,
            client_mac,
            first_dst_mac: dst_mac,
            forwarded_to: NO_MAC,
            answer_mac: NO_MAC,
            synack_ts: 0.0,
            synack_fp: u16::MAX,
            syns: 1,
            state: 0,
        }
    }
    pub fn has(&self, s: u8) -> bool {
        self.state & s != 0
    }
}

pub struct FlowTable {
    map: FastMap<FlowKey, Flow>,
    order: VecDeque<FlowKey>,
    max: usize,
    pub evicted: u64,
}

impl FlowTable {
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        FlowTable {
            map: FastMap::with_capacity_and_hasher(max.min(1 << 16), Default::default()),
            order: VecDeque::with_capacity(max.min(1 << 16)),
            max,
            evicted: 0,
        }
    }

    pub fn get_mut(&mut self, k: &FlowKey) -> Option<&mut Flow> {
        self.map.get_mut(k)
    }

    /// Insert a new flow; when full, the oldest flow is removed and handed to `on_evict`.
    pub fn insert(&mut self, k: FlowKey, f: Flow, mut on_evict: impl FnMut(&FlowKey, Flow)) {
        if self.map.len() >= self.max {
            while let Some(old) = self.order.pop_front() {
                if let Some(of) = self.map.remove(&old) {
                    self.evicted += 1;
                    on_evict(&old, of);
                    break;
                }
            }
        }
        if let Some(prev) = self.map.insert(k, f) {
            // The same 4-tuple reused for a new connection: close out the old one.
            on_evict(&k, prev);
        } else {
            self.order.push_back(k);
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// All remaining flows, oldest first.
    pub fn drain(mut self, mut f: impl FnMut(&FlowKey, Flow)) {
        for k in self.order.drain(..) {
            if let Some(fl) = self.map.remove(&k) {
                f(&k, fl);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> FlowKey {
        FlowKey {
            client: i as u128,
            client_port: 1,
            vip_port: 80,
        }
    }

    #[test]
    fn bounded_and_evicts_oldest_first_with_count() {
        let mut t = FlowTable::new(3);
        let mut gone = Vec::new();
        for i in 0..5 {
            t.insert(key(i), Flow::new(i as u64, 0.0, 0, 0, 0), |k, _| {
                gone.push(k.client)
            });
        }
        assert_eq!(t.len(), 3);
        assert_eq!(t.evicted, 2);
        assert_eq!(gone, vec![0, 1]);
        let mut rest = Vec::new();
        t.drain(|k, _| rest.push(k.client));
        assert_eq!(rest, vec![2, 3, 4]);
    }

    #[test]
    fn reinserting_a_key_closes_the_old_flow_without_growing() {
        let mut t = FlowTable::new(10);
        let mut closed = 0;
        t.insert(key(1), Flow::new(1, 0.0, 0, 0, 0), |_, _| closed += 1);
        t.insert(key(1), Flow::new(2, 0.0, 0, 0, 0), |_, _| closed += 1);
        assert_eq!((t.len(), closed), (1, 1));
        assert_eq!(t.get_mut(&key(1)).unwrap().syn_packet, 2);
    }
}
