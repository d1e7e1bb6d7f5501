//! Frame decoding over every supported link type: the first byte picks the link type.
#![no_main]
use lbdoctor::capture::decode::decode;
use lbdoctor::capture::source::linktype as lt;
use libfuzzer_sys::fuzz_target;

const TYPES: [u32; 10] = [
    lt::NULL,
    lt::ETHERNET,
    lt::RAW,
    lt::RAW_OPENBSD,
    lt::RAW_14,
    lt::LOOP,
    lt::LINUX_SLL,
    lt::IPV4,
    lt::IPV6,
    lt::LINUX_SLL2,
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let _ = decode(TYPES[sel as usize % TYPES.len()], rest);
    // An unsupported link type must be an error, not a panic.
    let _ = decode(u32::from(sel) << 8, rest);
});
