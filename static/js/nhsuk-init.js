// Starts NHS.UK frontend's components (header menu, error summary focus, radios,
// notification banners) on each page.
import { initAll } from "../vendor/nhsuk-frontend-10.6.1/nhsuk-frontend.min.js";

initAll();
