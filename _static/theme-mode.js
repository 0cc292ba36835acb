// On a first visit the theme's head script sets the colour mode to "" (nothing
// stored yet), which the theme then reports as an error; "auto" is its default.
if (!document.documentElement.dataset.mode) {
  document.documentElement.dataset.mode = "auto";
}
