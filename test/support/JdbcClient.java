// The PostgreSQL JDBC driver (what Metabase and DBeaver connect with) against the BI port: run in source-file
// mode by src/pgwire/jdbc.test.ts as `java -cp postgresql.jar JdbcClient.java PORT USER PASSWORD`. Prints one
// line per check; the test compares them.
import java.sql.*;

public class JdbcClient {
  public static void main(String[] args) throws Exception {
    String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/tollstream";
    try (Connection c = DriverManager.getConnection(url, args[1], args[2])) {
      DatabaseMetaData meta = c.getMetaData();
      System.out.println("version " + meta.getDatabaseProductVersion());
      // What a schema browser or a BI tool's sync asks: the tables of a schema, then a table's columns.
      try (ResultSet rs = meta.getTables(null, "main", "%", new String[] {"TABLE"})) {
        StringBuilder line = new StringBuilder("tables");
        while (rs.next()) line.append(' ').append(rs.getString("TABLE_NAME"));
        System.out.println(line);
      } catch (SQLException e) {
        System.out.println("tables failed " + e.getSQLState());
      }
      try (ResultSet rs = meta.getColumns(null, "main", "toll_transactions", "%")) {
        StringBuilder line = new StringBuilder("columns");
        while (rs.next()) line.append(' ').append(rs.getString("COLUMN_NAME")).append(':').append(rs.getString("TYPE_NAME"));
        System.out.println(line);
      } catch (SQLException e) {
        System.out.println("columns failed " + e.getSQLState());
      }
      // Past prepareThreshold (5) the driver prepares on the server and asks for binary results; setLong is bound in binary from the start.
      try (PreparedStatement ps = c.prepareStatement("SELECT count(*) AS n, sum(amount_cents) AS cents FROM toll_transactions WHERE plaza_id = ? AND amount_cents >= ?")) {
        for (int i = 0; i < 7; i++) {
          ps.setString(1, "P03");
          ps.setLong(2, 1000L);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            System.out.println("count " + rs.getLong(1) + " " + rs.getString(2));
          }
        }
      }
      String types = "SELECT 42::INTEGER AS i, 9007199254740993::BIGINT AS b, 7::SMALLINT AS s, 1.5::DOUBLE AS d, true AS t, DATE '2026-11-26' AS day, "
          + "TIMESTAMP '2026-11-26 10:00:00.123456' AS ts, 123.45::DECIMAL(10,2) AS m, (-0.001)::DECIMAL(10,3) AS neg, 'Zürich' AS txt, ?::INTEGER + 1 AS p";
      try (PreparedStatement ps = c.prepareStatement(types)) {
        for (int i = 0; i < 7; i++) {
          ps.setInt(1, i);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            StringBuilder line = new StringBuilder("types");
            for (int col = 1; col <= 11; col++) line.append(' ').append(rs.getString(col));
            System.out.println(line);
          }
        }
      }
      try (Statement st = c.createStatement()) {
        st.executeUpdate("DELETE FROM toll_transactions");
        System.out.println("write accepted");
      } catch (SQLException e) {
        System.out.println("write refused " + e.getSQLState());
      }
    }
  }
}
