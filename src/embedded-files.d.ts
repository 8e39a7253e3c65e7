// Files uploadedAndRun `with { type: "text" }` are embedded by `bun build --compile`.
declare module "*.sql" {
  const text: string;
  export default text;
}
declare module "*.css" {
  const text: string;
  export default text;
}
declare module "*.svg" {
  const text: string;
  export default text;
}
