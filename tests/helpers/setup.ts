import { setDefaultTimeout } from "bun:test";

// Browser and executable tests start real processes; 5 s is too short for them on CI.
setDefaultTimeout(60_000);
