// Preact with htm tagged templates: components as plain functions, no build step. htm escapes
// every interpolated value (text nodes and attribute values), so user text is always text.
import { h, render } from "/static/vendor/preact/preact.module.js";
import htm from "/static/vendor/htm/htm.module.js";

export { Fragment, h, render } from "/static/vendor/preact/preact.module.js";
export {
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
} from "/static/vendor/preact/hooks.module.js";
export const html = htm.bind(h);
export { render as mount };
