//! Every capability dropped (matters when the kernel runs as root).

use super::*;

#[repr(C)]
pub(super) struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(super) struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

pub(super) const CAP_VERSION_3: u32 = 0x2008_0522;

pub(super) fn capabilities(report: &mut Report) {
    let mut header = CapHeader {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget/capset with a version-3 header and two data structs, as the ABI requires;
    // prctl calls with constant arguments.
    let (held, ok) = unsafe {
        libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr());
        let held = data.iter().map(|d| d.permitted.count_ones()).sum::<u32>();
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        );
        for cap in 0..64 {
            if libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) != 0
                && errno() == libc::EINVAL
            {
                break;
            }
        }
        let mut header = CapHeader {
            version: CAP_VERSION_3,
            pid: 0,
        };
        let empty = [CapData::default(); 2];
        let ok = libc::syscall(libc::SYS_capset, &mut header, empty.as_ptr()) == 0;
        (held, ok)
    };
    let detail = if held == 0 {
        "none held (not root)".to_string()
    } else if ok {
        format!("all {held} capabilities dropped (bounding, ambient, effective, permitted)")
    } else {
        format!(
            "could not drop capabilities: {}",
            std::io::Error::last_os_error()
        )
    };
    report.layer("capabilities", ok, detail);
}
