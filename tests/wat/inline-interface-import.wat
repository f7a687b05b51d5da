(component
  (import "ward:agent/console@0.1.0" (instance
    (export "print" (func (param "text" string)))))
  (import "foo" (instance
    (export "f" (func (result u32)))))
)
