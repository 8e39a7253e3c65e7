// Imported as text (`with { type: "text" }`) to embed it in the executable.
declare const text: string;
export default text;
