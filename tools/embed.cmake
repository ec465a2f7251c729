# embed.cmake: a text file as a C string: cmake -DIN=file -DOUT=header -DNAME=SYMBOL -P embed.cmake
# (view/page.html into view_page.h: the page `arithlab view` writes lives as HTML, not as C literals)
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "// generated from ${IN} by tools/embed.cmake: do not edit\nstatic const char ${NAME}[] = {${bytes} 0x00};\n")
