// GET /: one self-contained HTML page (inline style and script, no other assets) that polls
// /status, /events and /metrics and shows the members, the quorum, held calls, call rates and
// recent events. Its Content-Security-Policy admits only that style and script, by hash.
#pragma once

#include "proxy/admin/admin_router.h"

namespace ehp {

// `can_drain`: the caller may use drain and undrain, so the page shows their buttons.
AdminResponse StatusPage(bool can_drain);

}  // namespace ehp
