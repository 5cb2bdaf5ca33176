import { useState } from "react";

/**
 * The server's errors shown beside the form fields they name (the pages'
 * forms: Reports, Downloads' feeds): a field with one is `aria-invalid` and
 * described by its message, which is an alert placed right under it (id
 * `<idPrefix>-<field>-error`, test id `<testIdPrefix><field>-error`).
 */
export function useFieldErrors<F extends string>(idPrefix: string, testIdPrefix = "") {
  const [errors, setErrors] = useState<Partial<Record<F, string>>>({});
  const id = (f: F) => `${idPrefix}-${f}-error`;
  return {
    errors,
    /** `message` next to `f` (and no other field's). */
    show: (f: F, message: string) => setErrors({ [f]: message } as Partial<Record<F, string>>),
    /** Every field's message gone. */
    clear: () => setErrors({}),
    /** `f`'s message gone (the field changed). */
    clearField: (f: F) => setErrors((e) => (e[f] ? { ...e, [f]: undefined } : e)),
    /** What the control of `f` carries (described by `hint` too: the id
     * of a note beside it). */
    aria: (f: F, hint?: string) => ({
      "aria-invalid": errors[f] ? true : undefined,
      "aria-describedby": [hint, errors[f] ? id(f) : undefined].filter(Boolean).join(" ") || undefined,
    }),
    /** The message under `f`, when it has one. */
    message: (f: F) =>
      errors[f] ? (
        <span id={id(f)} className="field-error" role="alert" data-testid={`${testIdPrefix}${f}-error`}>
          {errors[f]}
        </span>
      ) : null,
  };
}
